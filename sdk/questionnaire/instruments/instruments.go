// Package instruments embeds the questionnaires Parcours ships, as FHIR R4
// Questionnaire JSON in French with English translations, each carrying its
// published scoring and risk rules (docs/questionnaires.md):
//
//	phq-9                  PHQ-9, depression (Kroenke, Spitzer, Williams 2001)
//	gad-7                  GAD-7, anxiety (Spitzer et al. 2006)
//	epds                   EPDS, postnatal depression (Cox, Holden, Sagovsky 1987)
//	maternite-inscription  maternity registration with pregnancy-risk screening (HAS 2016)
//
// The French wording must be validated by the establishment's clinicians
// before clinical use.
package instruments

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

//go:embed *.json
var files embed.FS

// IDs returns the ids of the shipped questionnaires, sorted.
func IDs() []string {
	entries, err := files.ReadDir(".")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(ids)
	return ids
}

// JSON returns the Questionnaire JSON of id, and whether it exists.
func JSON(id string) ([]byte, bool) {
	if id == "" || strings.ContainsAny(id, "/\\.") {
		return nil, false
	}
	b, err := files.ReadFile(id + ".json")
	return b, err == nil
}

// Lookup parses the shipped questionnaire id.
func Lookup(id string) (*questionnaire.Questionnaire, error) {
	b, ok := JSON(id)
	if !ok {
		return nil, fmt.Errorf("no shipped questionnaire %q (have %s)", id, strings.Join(IDs(), ", "))
	}
	q, _, err := questionnaire.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("shipped questionnaire %s: %w", id, err)
	}
	return q, nil
}

// All parses every shipped questionnaire, in IDs order.
func All() ([]*questionnaire.Questionnaire, error) {
	var out []*questionnaire.Questionnaire
	for _, id := range IDs() {
		q, err := Lookup(id)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}
