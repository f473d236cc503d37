package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPackageOf(t *testing.T) {
	m := newMatcher([]string{"runtime", "encoding/json", "github.com/vugu/vugu", "github.com/vugu/vugu/domrender", "internal/runtime/maps"})
	for _, tc := range []struct{ name, want string }{
		{"runtime.mallocgc", "runtime"},
		{"encoding_json.Unmarshal", "encoding/json"},
		{"github.com_vugu_vugu_domrender.__JSRenderer_.Render", "github.com/vugu/vugu/domrender"},
		{"github.com_vugu_vugu.__VGNode_.AddAttrInterface", "github.com/vugu/vugu"},
		{"internal_runtime_maps.__Map_.getWithKey", "internal/runtime/maps"},
		{"type_.eq.internal_abi.ITab", "(compiler-generated)"},
		{"wasm_export_run", "(other)"},
		{"", "(unnamed)"},
	} {
		if got := m.packageOf(tc.name); got != tc.want {
			t.Errorf("packageOf(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Mangle("github.com/a-b/c.(*T).M"); got != "github.com_a_b_c.__T_.M" {
		t.Errorf("Mangle = %q", got)
	}
}

func TestAnalyzeRejectsBadInput(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("\x00asm"), []byte("not wasm at all"), []byte("\x00asm\x01\x00\x00\x00\x0a\xff\xff\xff\xff\x0f")} {
		if _, err := Analyze(b, nil); err == nil {
			t.Errorf("Analyze(%q) succeeded", b)
		}
	}
}

// TestAnalyzeBrowserBuild attributes the real Wasm's code to its packages.
func TestAnalyzeBrowserBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Wasm")
	}
	out := filepath.Join(t.TempDir(), "full.wasm")
	if err := Wasm(out, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := Deps()
	if err != nil {
		t.Fatal(err)
	}
	bd, err := Analyze(b, deps)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Total != len(b) || bd.Code+bd.Data > bd.Total || bd.Code == 0 {
		t.Fatalf("total %d code %d data %d for %d bytes", bd.Total, bd.Code, bd.Data, len(b))
	}
	sum := 0
	seen := map[string]int{}
	for _, p := range bd.Packages {
		sum += p.CodeBytes
		seen[p.Package] = p.CodeBytes
	}
	if sum != bd.Code {
		t.Errorf("packages add up to %d, code is %d", sum, bd.Code)
	}
	for _, p := range []string{"runtime", "github.com/vugu/vugu/domrender", "github.com/parcours-sante/parcours/widgets/booking", "github.com/parcours-sante/parcours/sdk/client"} {
		if seen[p] == 0 {
			t.Errorf("no code attributed to %s", p)
		}
	}
	if other := seen["(other)"] + seen["(unnamed)"]; other > bd.Code/20 {
		t.Errorf("%d bytes of code not attributed to a package (over 5%%)", other)
	}
}
