//go:build !js

package questionnaire_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWasmScoresLikeLinux runs TestDumpScores compiled for GOOS=js
// GOARCH=wasm under node (through go_js_wasm_exec) and checks that every
// instrument case scores exactly as it does in this build: the browser's
// preview and the host's score are the same computation.
func TestWasmScoresLikeLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatal("node is required when PARCOURS_E2E=1")
		}
		t.Skip("node is not installed")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	wasmDir := filepath.Join(runtime.GOROOT(), "lib", "wasm")
	if _, err := os.Stat(filepath.Join(wasmDir, "go_js_wasm_exec")); err != nil {
		t.Fatalf("go_js_wasm_exec: %v", err)
	}
	cmd := exec.Command(goBin, "test", "-count=1", "-run", "^TestDumpScores$", "-v", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "PARCOURS_DUMP_SCORES=1",
		"PATH="+wasmDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test under js/wasm: %v\n%s", err, out)
	}
	var wasm []byte
	for _, line := range bytes.Split(out, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("SCORES:")); ok {
			wasm = rest
		}
	}
	if wasm == nil {
		t.Fatalf("no scores in the js/wasm output:\n%s", out)
	}
	native, err := dumpScores()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wasm, native) {
		t.Errorf("js/wasm scores differ from %s/%s:\nwasm:   %s\nnative: %s", runtime.GOOS, runtime.GOARCH, wasm, native)
	}
	if n := strings.Count(string(native), `"total"`); n < 50 {
		t.Errorf("only %d results compared", n)
	}
}
