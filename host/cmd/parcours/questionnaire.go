package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

const questionnaireUsage = `usage:
  parcours questionnaire check QUESTIONNAIRE           support report; exit status 1 if refused
  parcours questionnaire score QUESTIONNAIRE RESPONSE  score a QuestionnaireResponse, print JSON

QUESTIONNAIRE is a FHIR R4 Questionnaire JSON file or the id of a shipped
instrument (%s). RESPONSE is a FHIR R4 QuestionnaireResponse JSON file.
`

// errRefused makes the command exit with status 1 after printing its report.
var errRefused = errors.New("questionnaire refused")

// questionnaireCmd runs "parcours questionnaire …".
func questionnaireCmd(args []string, out io.Writer) error {
	usage := fmt.Sprintf(questionnaireUsage, joinIDs())
	if len(args) == 0 {
		return fmt.Errorf("questionnaire: missing subcommand\n%s", usage)
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			return fmt.Errorf("questionnaire check takes one argument\n%s", usage)
		}
		return questionnaireCheck(args[1], out)
	case "score":
		if len(args) != 3 {
			return fmt.Errorf("questionnaire score takes two arguments\n%s", usage)
		}
		return questionnaireScore(args[1], args[2], out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("questionnaire: unknown subcommand %q\n%s", args[0], usage)
}

func joinIDs() string {
	s := ""
	for i, id := range instruments.IDs() {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}

// readQuestionnaire reads a file, or a shipped instrument when no such file
// exists and the name is a shipped id.
func readQuestionnaire(name string) ([]byte, error) {
	b, err := readLimited(name)
	if err == nil {
		return b, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		if b, ok := instruments.JSON(name); ok {
			return b, nil
		}
	}
	return nil, err
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, questionnaire.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > questionnaire.MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, questionnaire.MaxSize)
	}
	return b, nil
}

func questionnaireCheck(name string, out io.Writer) error {
	b, err := readQuestionnaire(name)
	if err != nil {
		return err
	}
	q, rep, err := questionnaire.Parse(b)
	if q == nil && len(rep.Unsupported) == 0 {
		return fmt.Errorf("%s: %w", name, err) // malformed, not a support matter
	}
	if q == nil {
		fmt.Fprintf(out, "%s: REFUSED\n", name)
	} else {
		fmt.Fprintf(out, "%s: accepted: %s (%s)\n", name, q.Title.In("fr"), q.Canonical())
		n := 0
		q.Walk(func(*questionnaire.Item) bool { n++; return true })
		fmt.Fprintf(out, "  %d items", n)
		if q.Rules != nil {
			fmt.Fprintf(out, ", %d risk levels, %d score bands, %d item rules", len(q.Rules.Levels), len(q.Rules.Bands), len(q.Rules.Rules))
		}
		fmt.Fprintln(out)
	}
	if len(rep.Unsupported) == 0 {
		fmt.Fprintln(out, "  everything in it is supported")
	}
	for _, u := range rep.Unsupported {
		fmt.Fprintf(out, "  %s\n", u)
	}
	if q == nil {
		return errRefused
	}
	return nil
}

// scoreOutput is what "questionnaire score" prints.
type scoreOutput struct {
	Questionnaire string                      `json:"questionnaire"`
	Response      string                      `json:"response,omitempty"`
	Warnings      []questionnaire.Unsupported `json:"warnings"`
	Result        *questionnaire.Result       `json:"result"`
}

func questionnaireScore(qname, rname string, out io.Writer) error {
	b, err := readQuestionnaire(qname)
	if err != nil {
		return err
	}
	q, rep, err := questionnaire.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", qname, err)
	}
	rb, err := readLimited(rname)
	if err != nil {
		return err
	}
	resp, err := q.ReadResponse(rb)
	if err != nil {
		return fmt.Errorf("%s: %w", rname, err)
	}
	o := scoreOutput{Questionnaire: q.Canonical(), Response: resp.ID, Warnings: rep.Unsupported, Result: q.Score(resp.Answers)}
	if o.Warnings == nil {
		o.Warnings = []questionnaire.Unsupported{}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(o)
}
