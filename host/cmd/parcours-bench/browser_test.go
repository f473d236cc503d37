package main

import (
	"strings"
	"testing"
)

func TestQuestionnaireReport(t *testing.T) {
	row := func(peer, profile string, content, answered float64) browserResult {
		return browserResult{Widget: "questionnaire", Peer: peer, Profile: profile, Cache: "cold", Runs: 5,
			Content: stat{Median: content, Min: content, Max: content}, Question: stat{Median: content, Min: content, Max: content},
			Answered: stat{Median: answered, Min: answered, Max: answered}, Bytes: stat{Median: 650_000, Min: 650_000, Max: 650_000}}
	}
	var r report
	questionnaireReport(&r, "156", 5, []browserResult{
		row("lforms", "slow4g", 9000, 10000),
		row("parcours", "slow4g", 900, 3300),
		row("lforms", "loopback", 2000, 2500),
		row("parcours", "loopback", 500, 2000),
	}, []skip{{"medplum", "bundling with esbuild failed (exit status 1): no react-router"}}, "Load.")
	out := r.String()

	// Loopback before Slow 4G, Parcours before its peers.
	var order []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, " | "); strings.HasPrefix(l, "| loopback") || strings.HasPrefix(l, "| slow4g") {
			order = append(order, strings.TrimPrefix(f[0], "| ")+" "+f[2])
		}
	}
	want := []string{"loopback Parcours `<parcours-questionnaire>`", "loopback LHC-Forms", "slow4g Parcours `<parcours-questionnaire>`", "slow4g LHC-Forms"}
	if strings.Join(order, "; ") != strings.Join(want, "; ") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range []string{
		"\n- skipped: Medplum `QuestionnaireForm`: bundling with esbuild failed (exit status 1): no react-router\n",
		"- Parcours `<parcours-questionnaire>`: content in 900 ms (within budget), first question in 900 ms, answer registered in 3300 ms (over by 10%), 650.0 KB received. The answer was saved in the draft by the host before the Wasm ran in 5 of 5 runs.\n",
		"- LHC-Forms: content in 9000 ms (over by 800%), answer registered in 10000 ms (over by 233%), 650.0 KB received. The issue cites 6.7 s / 7.1 s, 652 KB measured elsewhere.\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the report lacks %q:\n%s", s, out)
		}
	}
}

func TestWidgetsReport(t *testing.T) {
	row := func(widget, profile, cache string, content, interactive float64) browserResult {
		return browserResult{Widget: widget, Profile: profile, Cache: cache, Runs: 5,
			Content: stat{Median: content, Min: content, Max: content}, Interactive: stat{Median: interactive, Min: interactive, Max: interactive},
			Bytes: stat{Median: 1_160_000, Min: 1_160_000, Max: 1_160_000}}
	}
	var r report
	widgetsReport(&r, "156", 5, []browserResult{
		row("documents", "loopback", "cold", 150, 480),
		row("documents", "slow4g", "cold", 800, 7400),
		row("documents", "slow4g", "warm", 770, 1280),
	})
	out := r.String()
	for _, want := range []string{
		"`<parcours-documents>` on `/documents/`",
		"| documents | slow4g | cold | 800 ms [800–800] | 7400 ms [7400–7400] | 0/5 | 1160.0 KB |\n",
		"- documents, cold: content within budget, interactive over by 147%.\n",
		"- documents, warm: interactive over by 113%.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "documents, cold: content within budget, interactive within") {
		t.Error("a loopback row is read against the Slow 4G budgets")
	}
}
