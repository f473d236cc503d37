package questionnaire_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// scoreCase is one set of answers to a shipped instrument and the outcome
// the published scoring gives.
type scoreCase struct {
	name string
	// build fills the answers.
	build func(q *questionnaire.Questionnaire) *questionnaire.Answers
	total string
	level string
	// alerts are the rule ids expected to fire.
	alerts   []string
	care     bool
	complete bool
}

// withWeights answers the scored items of q in document order with the
// options of the given weights (all items must be listed).
func withWeights(weights ...int) func(*questionnaire.Questionnaire) *questionnaire.Answers {
	return func(q *questionnaire.Questionnaire) *questionnaire.Answers {
		a := questionnaire.NewAnswers()
		i := 0
		q.Walk(func(it *questionnaire.Item) bool {
			if !it.Scored() {
				return true
			}
			if i >= len(weights) {
				panic(fmt.Sprintf("%d weights for more scored items", len(weights)))
			}
			a.Set(it.LinkID, optionWeighing(it, weights[i]))
			i++
			return true
		})
		if i != len(weights) {
			panic(fmt.Sprintf("%d weights for %d scored items", len(weights), i))
		}
		return a
	}
}

// total answers q's scored items greedily so that the weights add up to n.
func total(n int) func(*questionnaire.Questionnaire) *questionnaire.Answers {
	return func(q *questionnaire.Questionnaire) *questionnaire.Answers {
		var ws []int
		left := n
		q.Walk(func(it *questionnaire.Item) bool {
			if it.Scored() {
				w := min(left, 3)
				ws = append(ws, w)
				left -= w
			}
			return true
		})
		if left != 0 {
			panic(fmt.Sprintf("total %d is out of reach", n))
		}
		return withWeights(ws...)(q)
	}
}

func optionWeighing(it *questionnaire.Item, w int) questionnaire.Value {
	for _, o := range it.Options {
		if o.Scored && o.Weight.String() == fmt.Sprint(w) {
			return o.Value
		}
	}
	panic(fmt.Sprintf("%s has no option weighing %d", it.LinkID, w))
}

func seq(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// withLast sets the last of n weights (the item with the alert) to last.
func withLast(n, rest, last int) func(*questionnaire.Questionnaire) *questionnaire.Answers {
	ws := seq(n, rest)
	ws[n-1] = last
	return withWeights(ws...)
}

// boundaries returns the cases on both sides of every cut-off.
func boundaries(cuts []int, levels []string, max int) []scoreCase {
	var out []scoreCase
	add := func(t int, lvl string) {
		out = append(out, scoreCase{name: fmt.Sprintf("total-%02d", t), build: total(t), total: fmt.Sprint(t), level: lvl, complete: true})
	}
	add(0, levels[0])
	for i, c := range cuts {
		add(c-1, levels[i])
		add(c, levels[i+1])
	}
	add(max, levels[len(levels)-1])
	return out
}

func instrumentCases() map[string][]scoreCase {
	phq := boundaries([]int{5, 10, 15, 20}, []string{"minimal", "mild", "moderate", "moderately-severe", "severe"}, 27)
	for i := range phq {
		phq[i].care = phq[i].level != "minimal" && phq[i].level != "mild"
		if phq[i].total == "27" || phq[i].total == "26" || phq[i].total == "25" {
			phq[i].alerts = []string{"phq9-item9-self-harm"}
			phq[i].care = true
		}
	}
	phq = append(phq,
		scoreCase{name: "published-all-0", build: withWeights(seq(9, 0)...), total: "0", level: "minimal", complete: true},
		scoreCase{name: "published-all-3", build: withWeights(seq(9, 3)...), total: "27", level: "severe", alerts: []string{"phq9-item9-self-harm"}, care: true, complete: true},
		// Kroenke 2001: "several days" on every item is 9, mild.
		scoreCase{name: "published-all-several-days", build: withWeights(seq(9, 1)...), total: "9", level: "mild", alerts: []string{"phq9-item9-self-harm"}, care: true, complete: true},
		scoreCase{name: "item9-alert-with-minimal-total", build: withLast(9, 0, 1), total: "1", level: "minimal", alerts: []string{"phq9-item9-self-harm"}, care: true, complete: true},
		scoreCase{name: "item9-never-no-alert", build: withLast(9, 2, 0), total: "16", level: "moderately-severe", care: true, complete: true},
		scoreCase{name: "incomplete-preview", build: func(q *questionnaire.Questionnaire) *questionnaire.Answers {
			a := withWeights(seq(9, 2)...)(q)
			a.Set("phq9-5")
			return a
		}, total: "16", level: "moderately-severe", alerts: []string{"phq9-item9-self-harm"}, care: true, complete: false},
	)
	gad := boundaries([]int{5, 10, 15}, []string{"minimal", "mild", "moderate", "severe"}, 21)
	for i := range gad {
		gad[i].care = gad[i].level == "moderate" || gad[i].level == "severe"
	}
	gad = append(gad,
		scoreCase{name: "published-all-0", build: withWeights(seq(7, 0)...), total: "0", level: "minimal", complete: true},
		scoreCase{name: "published-all-3", build: withWeights(seq(7, 3)...), total: "21", level: "severe", care: true, complete: true},
		scoreCase{name: "published-all-more-than-half", build: withWeights(seq(7, 2)...), total: "14", level: "moderate", care: true, complete: true},
	)
	epds := boundaries([]int{11, 13}, []string{"below-threshold", "possible", "probable"}, 30)
	for i := range epds {
		epds[i].care = epds[i].level != "below-threshold"
		if epds[i].total == "30" || epds[i].total == "28" {
			epds[i].alerts = []string{"epds-item10-self-harm"}
			epds[i].care = true
		}
	}
	epds = append(epds,
		// Every first-listed answer: items 1, 2, 4 score 0, the reversed
		// items 3, 5-10 score 3: 7 × 3 = 21 (Cox 1987 scoring sheet).
		scoreCase{name: "published-first-answers", build: firstOptions, total: "21", level: "probable", alerts: []string{"epds-item10-self-harm"}, care: true, complete: true},
		scoreCase{name: "published-all-0", build: withWeights(seq(10, 0)...), total: "0", level: "below-threshold", complete: true},
		scoreCase{name: "published-all-3", build: withWeights(seq(10, 3)...), total: "30", level: "probable", alerts: []string{"epds-item10-self-harm"}, care: true, complete: true},
		scoreCase{name: "item10-hardly-ever-alerts", build: withLast(10, 0, 1), total: "1", level: "below-threshold", alerts: []string{"epds-item10-self-harm"}, care: true, complete: true},
		scoreCase{name: "item10-never-no-alert", build: withLast(10, 1, 0), total: "9", level: "below-threshold", complete: true},
	)
	return map[string][]scoreCase{"phq-9": phq, "gad-7": gad, "epds": epds, "maternite-inscription": maternityCases()}
}

// firstOptions answers every scored item with its first listed option.
func firstOptions(q *questionnaire.Questionnaire) *questionnaire.Answers {
	a := questionnaire.NewAnswers()
	q.Walk(func(it *questionnaire.Item) bool {
		if it.Scored() {
			a.Set(it.LinkID, it.Options[0].Value)
		}
		return true
	})
	return a
}

const yn = "http://terminology.hl7.org/CodeSystem/v2-0136"

// maternity builds answers to the maternity questionnaire: a low-risk
// baseline changed by set.
func maternity(set func(a *questionnaire.Answers)) func(*questionnaire.Questionnaire) *questionnaire.Answers {
	return func(*questionnaire.Questionnaire) *questionnaire.Answers {
		no := questionnaire.Code(yn, "N")
		a := questionnaire.NewAnswers().
			Set("mat-age", questionnaire.Integer(30)).
			Set("mat-multiple", no).
			Set("mat-imc", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/bmi-band", "18.5-24.9")).
			Set("mat-parite", questionnaire.Integer(0)).
			Set("mat-diabete", no).Set("mat-hta", no).Set("mat-medicaments", no).
			Set("mat-tabac", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/tobacco-pregnancy", "never")).
			Set("mat-alcool", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/alcohol-pregnancy", "none"))
		if set != nil {
			set(a)
		}
		return a
	}
}

func previous(a *questionnaire.Answers, yes string) {
	a.Set("mat-parite", questionnaire.Integer(1))
	for _, l := range []string{"mat-cesarienne", "mat-premature", "mat-preeclampsie", "mat-hemorragie", "mat-mfiu"} {
		code := "N"
		if l == yes {
			code = "Y"
		}
		a.Set(l, questionnaire.Code(yn, code))
	}
}

func maternityCases() []scoreCase {
	y := questionnaire.Code(yn, "Y")
	c := func(name string, set func(a *questionnaire.Answers), tot, lvl string, alerts []string, care bool) scoreCase {
		return scoreCase{name: name, build: maternity(set), total: tot, level: lvl, alerts: alerts, care: care, complete: true}
	}
	age := func(n int64) func(a *questionnaire.Answers) {
		return func(a *questionnaire.Answers) { a.Set("mat-age", questionnaire.Integer(n)) }
	}
	return []scoreCase{
		c("no-risk-factor", nil, "0", "A", nil, false),
		c("age-17", age(17), "0", "A1", []string{"age-lt-18"}, false),
		c("age-18", age(18), "0", "A", nil, false),
		c("age-39", age(39), "0", "A", nil, false),
		c("age-40", age(40), "0", "A1", []string{"age-ge-40"}, false),
		c("bmi-30", func(a *questionnaire.Answers) {
			a.Set("mat-imc", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/bmi-band", "30-34.9"))
		}, "1", "A1", nil, false),
		c("bmi-40", func(a *questionnaire.Answers) {
			a.Set("mat-imc", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/bmi-band", "ge40"))
		}, "1", "A2", []string{"imc-ge-40"}, true),
		c("smoker", func(a *questionnaire.Answers) {
			a.Set("mat-tabac", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/tobacco-pregnancy", "current"))
		}, "1", "A1", []string{"tabac"}, false),
		c("alcohol-regular", func(a *questionnaire.Answers) {
			a.Set("mat-alcool", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/alcohol-pregnancy", "regular"))
		}, "1", "A2", []string{"alcool-regulier"}, true),
		c("medication", func(a *questionnaire.Answers) {
			a.Set("mat-medicaments", y).Set("mat-medicaments-liste", questionnaire.String("Lévothyroxine"))
		}, "1", "A1", []string{"medicaments"}, false),
		c("diabetes", func(a *questionnaire.Answers) { a.Set("mat-diabete", y) }, "1", "B", []string{"diabete"}, true),
		c("chronic-hypertension", func(a *questionnaire.Answers) { a.Set("mat-hta", y) }, "1", "B", []string{"hta"}, true),
		c("multiple-pregnancy", func(a *questionnaire.Answers) { a.Set("mat-multiple", y) }, "1", "B", []string{"multiple"}, true),
		c("previous-caesarean", func(a *questionnaire.Answers) { previous(a, "mat-cesarienne") }, "1", "A2", []string{"cesarienne"}, true),
		c("previous-preterm", func(a *questionnaire.Answers) { previous(a, "mat-premature") }, "1", "A2", []string{"premature"}, true),
		c("previous-preeclampsia", func(a *questionnaire.Answers) { previous(a, "mat-preeclampsie") }, "1", "A2", []string{"preeclampsie"}, true),
		c("previous-haemorrhage", func(a *questionnaire.Answers) { previous(a, "mat-hemorragie") }, "1", "A2", []string{"hemorragie"}, true),
		c("previous-stillbirth", func(a *questionnaire.Answers) { previous(a, "mat-mfiu") }, "1", "A2", []string{"mfiu"}, true),
		c("previous-none", func(a *questionnaire.Answers) { previous(a, "") }, "0", "A", nil, false),
		// Parity 0 disables the previous-pregnancy questions: their
		// answers, sent anyway, do not count.
		c("nulliparous-disabled-answers-ignored", func(a *questionnaire.Answers) {
			previous(a, "mat-cesarienne")
			a.Set("mat-parite", questionnaire.Integer(0))
		}, "0", "A", nil, false),
		c("several-factors", func(a *questionnaire.Answers) {
			age(41)(a)
			a.Set("mat-diabete", y)
			a.Set("mat-tabac", questionnaire.Code("https://parcours-sante.org/fhir/CodeSystem/tobacco-pregnancy", "current"))
		}, "2", "B", []string{"age-ge-40", "diabete", "tabac"}, true),
		{name: "medication-without-list-incomplete", build: maternity(func(a *questionnaire.Answers) { a.Set("mat-medicaments", y) }),
			total: "1", level: "A1", alerts: []string{"medicaments"}, complete: false},
	}
}

// TestInstruments scores every case, checks the published outcome, and
// compares the full results with testdata/<id>.golden.
func TestInstruments(t *testing.T) {
	for id, cases := range instrumentCases() {
		t.Run(id, func(t *testing.T) {
			q, err := instruments.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			var golden bytes.Buffer
			for _, tc := range cases {
				r := q.Score(tc.build(q))
				var alerts []string
				for _, a := range r.Alerts {
					alerts = append(alerts, a.Rule)
				}
				if r.Total.String() != tc.total || r.Level != tc.level || strings.Join(alerts, ",") != strings.Join(tc.alerts, ",") || r.CareTeamAlert != tc.care || r.Complete != tc.complete {
					t.Errorf("%s: total %s level %s alerts %v care %v complete %v; want %s %s %v %v %v (issues %v)",
						tc.name, r.Total, r.Level, alerts, r.CareTeamAlert, r.Complete, tc.total, tc.level, tc.alerts, tc.care, tc.complete, r.Issues)
				}
				fmt.Fprintf(&golden, "%s: total=%s level=%s care=%v urgent=%v complete=%v alerts=%v groups=", tc.name, r.Total, r.Level, r.CareTeamAlert, r.Urgent, r.Complete, alerts)
				for _, g := range r.Groups {
					fmt.Fprintf(&golden, "%s:%s ", g.LinkID, g.Score)
				}
				fmt.Fprintf(&golden, "\n  fr: %s\n  en: %s\n", r.Text.In("fr"), r.Text.In("en"))
			}
			checkGolden(t, id+".golden", golden.Bytes())
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", path, got)
	}
}

// TestInstrumentsSupported: every shipped instrument parses with no
// unsupported part at all, and has fr and en texts for every item.
func TestInstrumentsSupported(t *testing.T) {
	for _, id := range instruments.IDs() {
		b, _ := instruments.JSON(id)
		q, rep, err := questionnaire.Parse(b)
		if err != nil || len(rep.Unsupported) > 0 {
			t.Errorf("%s: %v %v", id, err, rep.Unsupported)
			continue
		}
		q.Walk(func(it *questionnaire.Item) bool {
			if it.Text("fr") == "" || it.Text("en") == it.Text("fr") {
				t.Errorf("%s %s: missing fr or en text", id, it.LinkID)
			}
			for _, o := range it.Options {
				if o.Text("en") == o.Text("fr") && o.Text("fr") != "Non" {
					t.Errorf("%s %s: option %s lacks an English text", id, it.LinkID, o.Value)
				}
			}
			return true
		})
		for _, l := range q.Rules.Levels {
			if l.Text.In("fr") == "" || l.Text.In("en") == l.Text.In("fr") {
				t.Errorf("%s level %s: missing fr or en text", id, l.Code)
			}
		}
	}
	if _, err := instruments.Lookup("../instruments"); err == nil {
		t.Error("Lookup accepted a path")
	}
	all, err := instruments.All()
	if err != nil || len(all) != 4 {
		t.Fatalf("All = %d, %v", len(all), err)
	}
}

// TestDumpScores prints the results of every instrument case as JSON when
// PARCOURS_DUMP_SCORES=1; TestWasmScoresLikeLinux runs it under js/wasm.
func TestDumpScores(t *testing.T) {
	if os.Getenv("PARCOURS_DUMP_SCORES") != "1" {
		t.Skip("PARCOURS_DUMP_SCORES is not 1")
	}
	b, err := dumpScores()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("SCORES:%s\n", b)
}

func dumpScores() ([]byte, error) {
	out := map[string][]*questionnaire.Result{}
	for id, cases := range instrumentCases() {
		q, err := instruments.Lookup(id)
		if err != nil {
			return nil, err
		}
		for _, tc := range cases {
			out[id] = append(out[id], q.Score(tc.build(q)))
		}
	}
	return json.Marshal(out)
}
