package questionnaire

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

// FuzzParseFormState: the hidden field comes from the browser. Parsing never
// panics, and what it accepts is within bounds and encodes back unchanged.
func FuzzParseFormState(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"st":"page","p":2}`, `{"st":"review","k":"qs-ABCDEFGHIJKLMNOP"}`, `{"st":"result","s":"qr-1"}`,
		`{"st":"nope"}`, `{"p":-1}`, `{"k":"short"}`, `{"extra":1}`, `[]`, `null`, `{"p":99999999}`,
		`{"st":"review","k":"qs-ABCDEFGHIJKLMNOP","d":"n"}`, `{"st":"review","d":"u"}`, `{"d":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseFormState(s)
		if err != nil {
			return
		}
		if st.Page < 0 || len(s) > MaxFormState || len(st.Submission) > 128 {
			t.Fatalf("accepted out-of-bounds state %+v", st)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseFormState(string(b))
		if err != nil || again != st {
			t.Fatalf("re-encoded state %s parses as %+v, %v; want %+v", b, again, err, st)
		}
	})
}

// FuzzApplyForm: the fields of a form post come from the browser. Whatever
// they hold, applying them to any step of the maternity questionnaire never
// panics and leaves answers the engine can write as a draft.
func FuzzApplyForm(f *testing.F) {
	data, _ := instruments.JSON("maternite-inscription")
	for _, s := range []string{
		"mat-age=32&mat-multiple=1&mat-imc=1", "mat-age=trente&mat-multiple=9", "mat-parite=2&mat-cesarienne=0",
		"mat-medicaments=0&mat-medicaments-liste=Insuline", "mat-ddr=31/02/2026", "mat-age=-1&mat-age=2", "%zz",
	} {
		for p := range 5 {
			f.Add(p, s)
		}
	}
	f.Fuzz(func(t *testing.T, page int, form string) {
		m := NewModel("fr", "chu-exemple", "maternite-inscription")
		if err := m.setDefinition(portal.Establishment{}, portal.QuestionnaireDef{Resource: data}); err != nil {
			t.Fatal(err)
		}
		m.Patient = &portal.Patient{ID: "p"}
		if page < 0 || page >= len(m.Pages) {
			return
		}
		m.goTo(page)
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		m.applyForm(v)
		m.checkPage()
		if _, err := m.Q.ResponseJSON(m.Answers, engine.ResponseOptions{Status: engine.InProgress}); err != nil {
			t.Fatalf("answers from %q cannot be written as a draft: %v", form, err)
		}
	})
}
