package questionnaire_test

import (
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

const pregnancies = `{"resourceType":"Questionnaire","id":"p","status":"active","item":[
 {"linkId":"preg","type":"group","repeats":true,"item":[
   {"linkId":"year","type":"integer"},
   {"linkId":"births","type":"group","repeats":true,"item":[{"linkId":"weight","type":"decimal"}]}
 ]}]}`

func ids(a *questionnaire.Answers, link string) string {
	var out []string
	for _, g := range a.Instances(link) {
		out = append(out, g.ID)
	}
	return strings.Join(out, " ")
}

// TestDraftKeepsInstances: a draft (in-progress) keeps every instance of a
// repeating group, an empty one too, under its ID, so that a form post
// names the same instance on the next one; a completed response keeps
// the instances with answers, without ids.
func TestDraftKeepsInstances(t *testing.T) {
	q := mustParse(t, pregnancies)
	a := questionnaire.NewAnswers()
	first := a.AddGroup("preg").Set("year", questionnaire.Integer(2019))
	first.AddGroup("births") // added, nothing typed yet
	empty := a.AddGroup("preg")
	if first.ID == "" || empty.ID == "" || first.ID == empty.ID {
		t.Fatalf("instance IDs %q %q", first.ID, empty.ID)
	}
	if a.Instance("preg", empty.ID) != 1 || a.Instance("preg", "nope") != -1 || a.Instance("preg", "") != -1 {
		t.Error("Instance does not find instances by ID")
	}
	draft, err := q.ResponseJSON(a, questionnaire.ResponseOptions{Status: questionnaire.InProgress})
	if err != nil {
		t.Fatal(err)
	}
	back, err := q.ReadResponse(draft)
	if err != nil {
		t.Fatalf("%v\n%s", err, draft)
	}
	if got, want := ids(back.Answers, "preg"), first.ID+" "+empty.ID; got != want {
		t.Fatalf("instances read back %q, want %q:\n%s", got, want, draft)
	}
	if inst := back.Answers.Instances("preg"); len(inst[0].Instances("births")) != 1 || inst[0].Get("year")[0] != questionnaire.Integer(2019) {
		t.Errorf("the nested empty instance or the answer is lost:\n%s", draft)
	}
	done, err := q.ResponseJSON(a, questionnaire.ResponseOptions{Status: questionnaire.Completed})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(done), `"linkId": "preg"`) != 1 || strings.Contains(string(done), `"id"`) || strings.Contains(string(done), "births") {
		t.Errorf("a completed response writes the instances with answers only, without ids:\n%s", done)
	}
}

// TestInstanceIDsRead: instances read without a usable id (absent, not a
// FHIR id, or another instance's) are named by position, the same on every
// read; ids in use are kept.
func TestInstanceIDsRead(t *testing.T) {
	q := mustParse(t, pregnancies)
	resp := `{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[
	 {"linkId":"preg"},
	 {"id":"i1","linkId":"preg"},
	 {"id":"i1","linkId":"preg"},
	 {"id":"a b","linkId":"preg"},
	 {"id":"kept","linkId":"preg","item":[{"linkId":"births"},{"linkId":"births"}]}]}`
	r, err := q.ReadResponse([]byte(resp))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(r.Answers, "preg"), "i2 i1 i3 i4 kept"; got != want {
		t.Errorf("ids %q, want %q", got, want)
	}
	if got := ids(r.Answers.Instances("preg")[4], "births"); got != "i1 i2" {
		t.Errorf("nested ids %q, want i1 i2", got)
	}
}
