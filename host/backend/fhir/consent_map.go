package fhir

import (
	"errors"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file maps access grants (portal.Grant) to FHIR R4 Consent
// (https://hl7.org/fhir/R4/consent.html). docs/fhir.md, "Consent (access
// grants)", has the table.

// Codes and systems of a grant's Consent.
const (
	// SystemGrantKey is the identifier system of the Consents Parcours
	// writes. While the grant is active its value is grantKey(patient,
	// practitioner), so that a conditional create on it (If-None-Exist)
	// finds the active grant instead of making a second one; revoking
	// appends grantKeyRevoked and the Consent's id to it, which frees the
	// key for a later grant. Only Consents carrying it are grants: one the
	// establishment wrote itself may hold exceptions this backend does not
	// interpret, and must not open documents.
	SystemGrantKey = "https://parcours-sante.org/fhir/sid/grant-key"
	// SystemConsentScope and ConsentScopePrivacy are Consent.scope
	// (http://terminology.hl7.org/CodeSystem/consentscope): a privacy
	// consent, about who may see the patient's data.
	SystemConsentScope  = "http://terminology.hl7.org/CodeSystem/consentscope"
	ConsentScopePrivacy = "patient-privacy"
	// ConsentCategoryLOINC is Consent.category, in SystemLOINC: 59284-0
	// "Patient Consent", the category R4's examples use (rather than a
	// consentcategorycodes code, most of which name national consent
	// forms).
	ConsentCategoryLOINC = "59284-0"
	// SystemParticipationType and ConsentActorRole are the role of
	// provision.actor: v3 ParticipationType PRCP, "primary information
	// recipient", the practitioner granted access.
	SystemParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	ConsentActorRole        = "PRCP"
	// SystemActCode and ConsentPolicyRule are Consent.policyRule, which
	// R4 requires when there is no policy (invariant ppc-1): v3 ActCode
	// OPTIN, the patient opted in to the disclosure.
	SystemActCode     = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	ConsentPolicyRule = "OPTIN"
)

// grantKeyRevoked separates a revoked grant's key from its Consent id.
const grantKeyRevoked = ".revoked."

// grantKey is the identifier value of the active grant of patient to
// practitioner: a digest, so that the identifier names no one.
func grantKey(patient, practitioner string) string {
	return requestDigest("grant", patient, practitioner)
}

// consent is a grant read from a Consent.
type consent struct {
	portal.Grant
	Version string // meta.versionId
	Raw     string // the resource, for updates
	Key     string // the SystemGrantKey identifier's value
}

// consentFrom reads a Consent written as a grant. Anything else, or a
// Consent that lacks what a grant needs, is an error: callers skip it.
func consentFrom(r gjson.Result) (consent, error) {
	c := consent{Raw: r.Raw, Version: r.Get("meta.versionId").String()}
	if r.Get("resourceType").String() != "Consent" {
		return consent{}, errors.New("Consent: not a Consent")
	}
	c.ID = r.Get("id").String()
	if !validID(c.ID) {
		return consent{}, errors.New("Consent: no valid id")
	}
	if c.Key = grantKeyOf(r); c.Key == "" {
		return consent{}, errors.New("Consent: not a grant (no grant key)")
	}
	if !hasCoding(r.Get("scope"), SystemConsentScope, ConsentScopePrivacy) {
		return consent{}, errors.New("Consent: scope is not patient-privacy")
	}
	if !r.Get("category").IsArray() || !anyCoding(r.Get("category"), SystemLOINC, ConsentCategoryLOINC) {
		return consent{}, errors.New("Consent: category is not Patient Consent")
	}
	var ok bool
	if c.Patient, ok = refID(r.Get("patient.reference").String(), "Patient"); !ok {
		return consent{}, errors.New("Consent: no patient")
	}
	orgs := r.Get("organization").Array()
	if len(orgs) != 1 {
		return consent{}, errors.New("Consent: not one organization")
	}
	if c.Establishment, ok = refID(orgs[0].Get("reference").String(), "Organization"); !ok {
		return consent{}, errors.New("Consent: no Organization")
	}
	p := r.Get("provision")
	// A grant permits everything to its one actor; a provision with
	// exceptions, data, classes, codes or actions narrows it in ways this
	// backend does not apply, so it is not read as a grant.
	for _, narrowing := range []string{"provision", "data", "class", "code", "action", "securityLabel", "purpose", "dataPeriod"} {
		if p.Get(narrowing).Exists() {
			return consent{}, errors.New("Consent: a provision this backend does not interpret")
		}
	}
	if p.Get("type").String() != "permit" {
		return consent{}, errors.New("Consent: provision.type is not permit")
	}
	actors := p.Get("actor").Array()
	if len(actors) != 1 || !hasCoding(actors[0].Get("role"), SystemParticipationType, ConsentActorRole) {
		return consent{}, errors.New("Consent: not one PRCP actor")
	}
	if c.Practitioner, ok = refID(actors[0].Get("reference.reference").String(), "Practitioner"); !ok {
		return consent{}, errors.New("Consent: the actor is not a Practitioner")
	}
	c.PractitionerName = actors[0].Get("reference.display").String()
	if c.Granted, ok = parseInstant(p.Get("period.start").String()); !ok {
		return consent{}, errors.New("Consent: no provision.period.start instant")
	}
	end := p.Get("period.end")
	if end.Exists() {
		t, ok := parseInstant(end.String())
		if !ok || t.Before(c.Granted) {
			return consent{}, errors.New("Consent: provision.period.end is not an instant after its start")
		}
		c.Revoked = &t
	}
	switch r.Get("status").String() {
	case "active":
		// An active Consent whose period has an end is revoked at
		// that end (Active reports Revoked == nil).
	case "inactive":
		if c.Revoked == nil {
			return consent{}, errors.New("Consent: inactive without provision.period.end")
		}
	default:
		// draft, proposed, rejected, entered-in-error: no grant.
		return consent{}, errors.New("Consent: status is neither active nor inactive")
	}
	return c, nil
}

// grantKeyOf returns the value of r's SystemGrantKey identifier, if any.
func grantKeyOf(r gjson.Result) string {
	key := ""
	r.Get("identifier").ForEach(func(_, id gjson.Result) bool {
		if id.Get("system").String() == SystemGrantKey {
			key = id.Get("value").String()
		}
		return key == ""
	})
	return key
}

// hasCoding reports whether the CodeableConcept cc has a coding system|code.
func hasCoding(cc gjson.Result, system, code string) bool {
	found := false
	cc.Get("coding").ForEach(func(_, c gjson.Result) bool {
		found = c.Get("system").String() == system && c.Get("code").String() == code
		return !found
	})
	return found
}

// anyCoding reports whether one of the CodeableConcepts ccs has a coding
// system|code.
func anyCoding(ccs gjson.Result, system, code string) bool {
	found := false
	ccs.ForEach(func(_, cc gjson.Result) bool {
		found = hasCoding(cc, system, code)
		return !found
	})
	return found
}

// consentJSON is a new grant's Consent (https://hl7.org/fhir/R4/consent.html).
type consentJSON struct {
	ResourceType string                `json:"resourceType"`
	Identifier   []identifierJSON      `json:"identifier"`
	Status       string                `json:"status"`
	Scope        codeableConceptJSON   `json:"scope"`
	Category     []codeableConceptJSON `json:"category"`
	Patient      referenceJSON         `json:"patient"`
	DateTime     string                `json:"dateTime"`
	Organization []referenceJSON       `json:"organization"`
	PolicyRule   codeableConceptJSON   `json:"policyRule"`
	Provision    provisionJSON         `json:"provision"`
}

type codingJSON struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type codeableConceptJSON struct {
	Coding []codingJSON `json:"coding"`
}

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end,omitempty"`
}

type provisionJSON struct {
	Type   string             `json:"type"`
	Period periodJSON         `json:"period"`
	Actor  []consentActorJSON `json:"actor"`
}

type consentActorJSON struct {
	Role      codeableConceptJSON `json:"role"`
	Reference referenceJSON       `json:"reference"`
}

// newConsent returns the Consent of a grant of patient to practitioner
// (named name) through establishment est, at now.
func newConsent(patient, practitioner, name, est string, now time.Time) consentJSON {
	at := formatInstant(now)
	return consentJSON{
		ResourceType: "Consent",
		Identifier:   []identifierJSON{{System: SystemGrantKey, Value: grantKey(patient, practitioner)}},
		Status:       "active",
		Scope:        codeableConceptJSON{Coding: []codingJSON{{System: SystemConsentScope, Code: ConsentScopePrivacy, Display: "Privacy Consent"}}},
		Category:     []codeableConceptJSON{{Coding: []codingJSON{{System: SystemLOINC, Code: ConsentCategoryLOINC, Display: "Patient Consent"}}}},
		Patient:      referenceJSON{Reference: ref("Patient", patient)},
		DateTime:     at,
		Organization: []referenceJSON{{Reference: ref("Organization", est)}},
		PolicyRule:   codeableConceptJSON{Coding: []codingJSON{{System: SystemActCode, Code: ConsentPolicyRule, Display: "opt-in"}}},
		Provision: provisionJSON{
			Type:   "permit",
			Period: periodJSON{Start: at},
			Actor: []consentActorJSON{{
				Role:      codeableConceptJSON{Coding: []codingJSON{{System: SystemParticipationType, Code: ConsentActorRole, Display: "primary information recipient"}}},
				Reference: referenceJSON{Reference: ref("Practitioner", practitioner), Display: name},
			}},
		},
	}
}

// revokeConsent changes the Consent res (its JSON as edit decodes it) into
// a revoked grant at now: status inactive, provision.period.end, and the
// grant key made the revoked one's.
func revokeConsent(res map[string]any, id string, now time.Time) {
	res["status"] = "inactive"
	prov, _ := res["provision"].(map[string]any)
	if prov == nil {
		prov = map[string]any{}
		res["provision"] = prov
	}
	period, _ := prov["period"].(map[string]any)
	if period == nil {
		period = map[string]any{}
		prov["period"] = period
	}
	period["end"] = formatInstant(now)
	ids, _ := res["identifier"].([]any)
	for _, x := range ids {
		if m, ok := x.(map[string]any); ok && m["system"] == SystemGrantKey {
			if v, _ := m["value"].(string); v != "" {
				m["value"] = v + grantKeyRevoked + id
			}
		}
	}
}
