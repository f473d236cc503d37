package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// This file writes resources with encoding/json. An update sends the whole
// resource (https://hl7.org/fhir/R4/http.html#update), so it starts from
// the JSON the server gave and changes only what booking owns: the
// establishment's own elements and extensions are kept as they were.

// edit applies change to the resource JSON raw and returns the new JSON.
// Numbers keep their digits (FHIR decimals are exact); meta.versionId and
// meta.lastUpdated, which the server sets, are dropped.
func edit(raw string, change func(res map[string]any)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	if meta, ok := res["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(res, "meta")
		}
	}
	change(res)
	return json.Marshal(res)
}

// setExtension sets the extension url of res to {url, key: value},
// replacing any with that url (https://hl7.org/fhir/R4/extensibility.html).
func setExtension(res map[string]any, url, key string, value any) {
	removeExtension(res, url)
	exts, _ := res["extension"].([]any)
	res["extension"] = append(exts, map[string]any{"url": url, key: value})
}

// removeExtension removes the extensions url of res.
func removeExtension(res map[string]any, url string) {
	exts, _ := res["extension"].([]any)
	kept := exts[:0:0]
	for _, e := range exts {
		if m, ok := e.(map[string]any); ok && m["url"] == url {
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		delete(res, "extension")
	} else {
		res["extension"] = kept
	}
}

// JSON shapes of the resources this backend creates.

type referenceJSON struct {
	Reference string `json:"reference"`
	Display   string `json:"display,omitempty"`
}

type identifierJSON struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type participantJSON struct {
	Actor  referenceJSON `json:"actor"`
	Status string        `json:"status"`
}

// appointmentJSON is a new Appointment (https://hl7.org/fhir/R4/appointment.html).
type appointmentJSON struct {
	ResourceType string            `json:"resourceType"`
	Identifier   []identifierJSON  `json:"identifier"`
	Status       string            `json:"status"`
	Start        string            `json:"start"`
	End          string            `json:"end"`
	Created      string            `json:"created"`
	Slot         []referenceJSON   `json:"slot"`
	Participant  []participantJSON `json:"participant"`
}
