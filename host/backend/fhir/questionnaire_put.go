package fhir

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// PutQuestionnaire creates or replaces the questionnaire d.ID that
// establishment d.Establishment offers, as the SQLite backend's method of
// that name: a Questionnaire (https://hl7.org/fhir/R4/questionnaire.html)
// made from d.Resource with what Parcours reads set on it — status active,
// the identifier SystemQuestionnaireID|d.ID, the useContext naming the
// Organization and the HealthcareService (SystemUsageContext), the title
// (English in an ExtTranslation) and the next steps (ExtNextStep). The
// resource's other elements are kept as given.
//
// d.Resource must be a Questionnaire in JSON, d.Title needs its French
// text, and every next step a French text and a level of its own
// (ErrInvalid otherwise; the server's own validation may refuse the
// resource too, also ErrInvalid). d.Service and each step's service must be
// services of the establishment, a step's practitioner one of its service
// (ErrNotFound otherwise).
//
// An existing Questionnaire of the establishment with that identifier is
// updated with If-Match; otherwise one is created. It is an integrator's
// tool, not a patient's: two concurrent first puts may make two
// Questionnaires, of which Questionnaire reads the one with the smallest
// logical id.
func (b *Backend) PutQuestionnaire(ctx context.Context, d portal.QuestionnaireDef) error {
	if err := validateQuestionnaireDef(d); err != nil {
		return err
	}
	if _, err := b.checkPlace(ctx, d.Establishment, d.Service); err != nil {
		return err
	}
	for _, st := range d.NextSteps {
		if st.Service == "" {
			continue
		}
		if _, err := b.checkPlace(ctx, d.Establishment, st.Service); err != nil {
			return err
		}
		if st.Practitioner == "" {
			continue
		}
		ps, err := b.practitioners(ctx, []string{st.Service})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ps[st.Service], func(p portal.Practitioner) bool { return p.ID == st.Practitioner }) {
			return portal.Errorf(portal.ErrNotFound, "questionnaire %s: practitioner %q does not work in service %q", d.ID, st.Practitioner, st.Service)
		}
	}
	existing, err := b.questionnairesNamed(ctx, d.Establishment, d.ID)
	if err != nil {
		return err
	}
	body, err := edit(string(d.Resource), func(res map[string]any) {
		res["status"] = "active"
		res["title"] = d.Title.FR
		delete(res, "_title")
		if d.Title.EN != "" {
			res["_title"] = translationJSON(d.Title.EN)
		}
		ids, _ := res["identifier"].([]any)
		ids = slices.DeleteFunc(slices.Clone(ids), func(v any) bool {
			m, ok := v.(map[string]any)
			return ok && m["system"] == SystemQuestionnaireID
		})
		res["identifier"] = append(ids, identifierJSON{System: SystemQuestionnaireID, Value: d.ID})
		ucs, _ := res["useContext"].([]any)
		ucs = slices.DeleteFunc(slices.Clone(ucs), func(v any) bool {
			m, ok := v.(map[string]any)
			code, _ := m["code"].(map[string]any)
			return ok && code["system"] == SystemUsageContext
		})
		res["useContext"] = append(ucs,
			usageContextJSON("establishment", ref("Organization", d.Establishment)),
			usageContextJSON("service", ref("HealthcareService", d.Service)))
		removeExtension(res, ExtNextStep)
		exts, _ := res["extension"].([]any)
		for _, st := range d.NextSteps {
			exts = append(exts, nextStepJSON(st))
		}
		if len(exts) > 0 {
			res["extension"] = exts
		}
		delete(res, "id")
		if len(existing) > 0 {
			res["id"] = existing[0].LogicalID
		}
	})
	if err != nil {
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: the resource must be a FHIR Questionnaire in JSON", d.ID)
	}
	r := request{method: http.MethodPost, path: "Questionnaire", body: body, op: opWrite}
	if len(existing) > 0 {
		r = request{method: http.MethodPut, path: ref("Questionnaire", existing[0].LogicalID), body: body, ifMatch: existing[0].Version, op: opWrite}
	}
	_, _, _, err = b.write(ctx, r, "Questionnaire")
	return err
}

// questionnairesNamed returns the Questionnaires of establishment est with
// identifier SystemQuestionnaireID|name, whatever their status, smallest
// logical id first.
func (b *Backend) questionnairesNamed(ctx context.Context, est, name string) ([]offeredQuestionnaire, error) {
	found, err := b.search(ctx, "Questionnaire", values("identifier", SystemQuestionnaireID+"|"+name))
	if err != nil {
		return nil, err
	}
	var out []offeredQuestionnaire
	for _, r := range found {
		if r.Get("resourceType").String() != "Questionnaire" {
			continue
		}
		q, err := questionnaireFrom(r)
		if err != nil {
			b.skip("Questionnaire", err)
			continue
		}
		if q.Name == name && q.Establishment == est {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(x, y offeredQuestionnaire) int { return strings.Compare(x.LogicalID, y.LogicalID) })
	return out, nil
}

// validateQuestionnaireDef reports an ErrInvalid error for a definition no
// establishment could offer.
func validateQuestionnaireDef(d portal.QuestionnaireDef) error {
	switch {
	case d.Establishment == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire: establishment is required")
	case d.ID == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire: id is required")
	case d.Service == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: service is required", d.ID)
	case d.Title.FR == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: a French title is required", d.ID)
	}
	if err := checkPortalResource("questionnaire "+d.ID, d.Resource, "Questionnaire"); err != nil {
		return err
	}
	levels := map[string]bool{}
	for i, st := range d.NextSteps {
		switch {
		case levels[st.Level]:
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: level %q already has a step", d.ID, i, st.Level)
		case st.Text.FR == "":
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: a French text is required", d.ID, i)
		case st.Practitioner != "" && st.Service == "":
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: a practitioner needs a service", d.ID, i)
		}
		levels[st.Level] = true
	}
	return nil
}

// usageContextJSON is a useContext of code (SystemUsageContext) naming
// reference (https://hl7.org/fhir/R4/metadatatypes.html#UsageContext).
func usageContextJSON(code, reference string) map[string]any {
	return map[string]any{
		"code":           map[string]any{"system": SystemUsageContext, "code": code},
		"valueReference": referenceJSON{Reference: reference},
	}
}

// nextStepJSON is the ExtNextStep of st.
func nextStepJSON(st portal.NextStep) map[string]any {
	text := map[string]any{"url": "text", "valueString": st.Text.FR}
	if st.Text.EN != "" {
		text["_valueString"] = translationJSON(st.Text.EN)
	}
	exts := []any{text}
	if st.Level != "" {
		exts = append(exts, map[string]any{"url": "level", "valueCode": st.Level})
	}
	if st.Service != "" {
		exts = append(exts, map[string]any{"url": "service", "valueReference": referenceJSON{Reference: ref("HealthcareService", st.Service)}})
	}
	if st.Practitioner != "" {
		exts = append(exts, map[string]any{"url": "practitioner", "valueReference": referenceJSON{Reference: ref("Practitioner", st.Practitioner)}})
	}
	return map[string]any{"url": ExtNextStep, "extension": exts}
}
