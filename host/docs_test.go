package host_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestDocsAreCurrent keeps the documentation true: the snippets show the
// loader's current SRI hash and the API reference lists every error code
// with its status.
func TestDocsAreCurrent(t *testing.T) {
	sri := regexp.MustCompile(`sha384-[A-Za-z0-9+/=]+`)
	for _, f := range []string{"../README.md", "../docs/embedding.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := sri.FindAllString(string(b), -1)
		if len(found) == 0 {
			t.Errorf("%s shows no integrity hash", f)
		}
		for _, h := range found {
			if h != host.LoaderSRI() {
				t.Errorf("%s shows %s; the loader's is %s (update the snippet)", f, h, host.LoaderSRI())
			}
		}
	}
	api, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range portal.Codes() {
		row := regexp.MustCompile("(?m)^\\| `" + string(code) + "` \\| " + strconv.Itoa(code.Status()) + " \\|")
		if !row.Match(api) {
			t.Errorf("docs/api.md has no row `| `%s` | %d |`", code, code.Status())
		}
	}
	if !strings.Contains(string(api), "openapi.json") {
		t.Error("docs/api.md does not point to the OpenAPI document")
	}
}
