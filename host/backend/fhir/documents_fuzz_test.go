package fhir

import (
	"math"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// FuzzParseDocument fuzzes the readers of documents and results: whatever
// the server answers, they return a value or an error, never panic, and
// what they accept has the shape the backend relies on.
func FuzzParseDocument(f *testing.F) {
	sum := `"extension":[{"url":"` + ExtSHA256 + `","valueString":"` + sha256Hex([]byte("x")) + `"}]`
	f.Add([]byte(`{"resourceType":"DocumentReference","id":"d1","status":"current","type":{"coding":[{"system":"http://loinc.org","code":"11502-2"}]},
		"subject":{"reference":"Patient/p1"},"custodian":{"reference":"Organization/o1"},"date":"2026-11-20T10:00:00+01:00",
		"extension":[{"url":"` + ExtDocumentService + `","valueReference":{"reference":"HealthcareService/s1"}},{"url":"` + ExtReleaseDue + `","valueDateTime":"2026-12"}],
		"securityLabel":[{"coding":[{"system":"` + SystemDMPConfidentiality + `","code":"INVISIBLE_PATIENT"}]}],
		"content":[{"attachment":{"contentType":"application/pdf","size":1,"title":"a.pdf","url":"Binary/b1",` + sum + `}}],
		"context":{"period":{"start":"2026-11-19"},"related":[{"reference":"DiagnosticReport/r1"}]}}`))
	f.Add([]byte(`{"resourceType":"Observation","id":"o1","code":{"coding":[{"code":"4548-4","display":"HbA1c","_display":{"extension":[{"url":"` + ExtTranslation + `","extension":[{"url":"lang","valueCode":"en"},{"url":"content","valueString":"HbA1c"}]}]}}]},
		"valueQuantity":{"value":7.0,"_value":{"extension":[{"url":"` + ExtQuantityPrecision + `","valueInteger":1}]},"unit":"%"},
		"referenceRange":[{"low":{"value":4},"high":{"value":6}}],"effectiveDateTime":"2026-11-19T08:00:00Z","meta":{"security":[{"system":"` + SystemConfidentiality + `","code":"R"}]}}`))
	f.Add([]byte(`{"resourceType":"Observation","id":"o1","code":{"coding":[{"code":"x"}]},"valueQuantity":{"value":1e400}}`))
	f.Add([]byte(`{"resourceType":"Observation","id":"o1","code":{"coding":[{"code":"2345-7"}]},"valueQuantity":{"value":-1.5e-3},"effectiveDateTime":"2026"}`))
	f.Add([]byte(`{"resourceType":"Media","id":"m1","content":{"contentType":"image/png","size":3,"url":"Binary/b",` + sum + `}}`))
	f.Add([]byte(`{"resourceType":"DiagnosticReport","id":"r1","result":[{"reference":"Observation/o1"},{"reference":"Patient/x"}],"media":[{"link":{"reference":"Media/m1"}}]}`))
	f.Add([]byte(`{"resourceType":"Binary","id":"b1","contentType":"application/pdf","data":"JVBERi0="}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		r := gjson.ParseBytes(body)
		held(r)
		if d, err := documentRefFrom(r); err == nil {
			if !validID(d.ID) || !validID(d.Patient) || !validID(d.Establishment) || !validID(d.Service) || !d.Type.Valid() ||
				!validID(d.File.Binary) || d.File.Size <= 0 || len(d.File.SHA256) != 64 || d.Created.IsZero() || (d.Report != "" && !validID(d.Report)) {
				t.Fatalf("documentRefFrom accepted %+v", d)
			}
			doc := d.toPortal(portal.Author{Kind: portal.AuthorPatient, ID: d.Patient}, time.Now(), time.UTC, nil)
			if doc.Sensitive != d.Sensitive || (!d.Sensitive && doc.Release != portal.ReleaseNotRequired) {
				t.Fatalf("toPortal = %+v", doc)
			}
			if !d.visibleToPatient(time.Now()) && doc.Release != portal.ReleaseHeld {
				t.Fatalf("a document the patient does not see is %q", doc.Release)
			}
		}
		if o, _, err := observationFrom(r); err == nil {
			if !validID(o.ID) || portal.ValidateAnalyteCode(o.Code) != nil || math.IsNaN(o.Value) || math.IsInf(o.Value, 0) ||
				o.Decimals < 0 || o.Decimals > portal.MaxObservationDecimals || o.Effective.IsZero() ||
				o.Interpretation != portal.Interpret(o.Value, o.Low, o.High) {
				t.Fatalf("observationFrom accepted %+v", o)
			}
		}
		if m, _, err := mediaFrom(r); err == nil {
			if !validID(m.ID) || !validID(m.Binary) || m.Size <= 0 || len(m.SHA256) != 64 {
				t.Fatalf("mediaFrom accepted %+v", m)
			}
		}
		if dr, err := diagnosticReportFrom(r); err == nil {
			for _, id := range append(dr.Results, dr.Media...) {
				if !validID(id) {
					t.Fatalf("diagnosticReportFrom accepted the id %q", id)
				}
			}
		}
		binaryFrom(r)
	})
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		raw  string
		v    float64
		dec  int
		fail bool
	}{
		{raw: `7`, v: 7}, {raw: `7.0`, v: 7, dec: 1}, {raw: `0.62`, v: 0.62, dec: 2}, {raw: `-1.5e-3`, v: -0.0015, dec: 4},
		{raw: `1.25E2`, v: 125}, {raw: `1e400`, fail: true}, {raw: `"7"`, fail: true}, {raw: `0.1234567890`, v: 0.123456789, dec: 6},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			v, dec, ok := decimal(gjson.Parse(tt.raw))
			if ok == tt.fail || ok && (v != tt.v || dec != tt.dec) {
				t.Errorf("decimal(%s) = %v, %d, %v; want %v, %d", tt.raw, v, dec, ok, tt.v, tt.dec)
			}
		})
	}
}
