//go:build !(js && wasm)

package questionnaire_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
)

// instanceKeys are the keys of the instances shown on the current page.
func instanceKeys(m *questionnaire.Model) []string {
	var keys []string
	for _, r := range m.Rows() {
		if r.Kind == questionnaire.RowInstance {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// TestRepeatingGroupThroughDrafts: in the browser (DOM events, the draft
// saved through the host's API), a repeating group's instances keep their
// keys through a removal and through the draft, an empty one too: a reload
// (or the form posts, should the Wasm stop) finds the same instances under
// the same names.
func TestRepeatingGroupThroughDrafts(t *testing.T) {
	resource, err := os.ReadFile("testdata/grossesses.json")
	if err != nil {
		t.Fatal(err)
	}
	url, _ := testhost.Start(t, func(store *sqlite.Store, c *host.Config) {
		c.Questionnaires = store
		if err := store.PutQuestionnaire(context.Background(), portal.QuestionnaireDef{
			ID: "grossesses", Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
			Title: portal.Text{FR: "Grossesses précédentes"}, Resource: resource,
		}); err != nil {
			t.Fatal(err)
		}
	})
	w := &world{url: url}
	tr := client.NewHTTPTransport()
	hs := w.open(t, "fr", "grossesses", tr)
	hs.Do("sign-in", "")
	hs.Do("begin", "")
	hs.Do("add", "grossesse[+]")
	hs.Do("add", "grossesse[+]")
	keys := instanceKeys(hs.Comp.M)
	if len(keys) != 2 {
		t.Fatalf("instances %v after two adds", keys)
	}
	hs.change("type", keys[0]+".annee", "2015")
	hs.change("type", keys[1]+".annee", "2018")
	hs.Do("remove", keys[0])
	hs.Do("add", "grossesse[+]") // left empty
	after := instanceKeys(hs.Comp.M)
	if len(after) != 2 || after[0] != keys[1] || slices.Contains(keys, after[1]) {
		t.Fatalf("instances %v after removing %s and adding one", after, keys[0])
	}
	hs.Do("prev", "") // saves the draft
	if hs.Comp.M.DraftSaved.IsZero() {
		t.Fatalf("the draft was not saved: %q", hs.Comp.M.Err)
	}

	hs2 := w.open(t, "fr", "grossesses", tr)
	hs2.Do("begin", "")
	hs2.wantStep(questionnaire.StepPage, 0)
	if got := instanceKeys(hs2.Comp.M); !slices.Equal(got, after) {
		t.Fatalf("instances %v after a reload, want %v", got, after)
	}
	if y := hs2.Comp.M.Text(hs2.Comp.M.Rows()[2]); y != "2018" {
		t.Errorf("the first instance's year is %q after a reload, want 2018", y)
	}
}
