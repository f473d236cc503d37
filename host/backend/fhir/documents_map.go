package fhir

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file maps documents and results between FHIR R4 and portal types:
// DocumentReference (https://hl7.org/fhir/R4/documentreference.html),
// DiagnosticReport (https://hl7.org/fhir/R4/diagnosticreport.html),
// Observation (https://hl7.org/fhir/R4/observation.html), Media
// (https://hl7.org/fhir/R4/media.html) and Binary
// (https://hl7.org/fhir/R4/binary.html). docs/fhir.md, "Documents and
// results", describes the mapping. Reads use gjson and trust nothing.

// URLs and systems of documents. docs/fhir.md documents them.
const (
	// ExtDocumentService names the HealthcareService of a
	// DocumentReference (valueReference).
	ExtDocumentService = "https://parcours-sante.org/fhir/StructureDefinition/document-service"
	// ExtSHA256 is an Attachment's SHA-256, lower-case hex (valueString):
	// R4's Attachment.hash is SHA-1.
	ExtSHA256 = "https://parcours-sante.org/fhir/StructureDefinition/attachment-sha256"
	// ExtReleaseDue is when the establishment's delay releases a
	// sensitive document (valueDateTime).
	ExtReleaseDue = "https://parcours-sante.org/fhir/StructureDefinition/release-due"
	// ExtReleased is when a practitioner released a sensitive document
	// (valueDateTime).
	ExtReleased = "https://parcours-sante.org/fhir/StructureDefinition/released"
	// ExtReleasedBy is the Practitioner who released it (valueReference).
	ExtReleasedBy = "https://parcours-sante.org/fhir/StructureDefinition/released-by"
	// ExtSeen is when the patient first opened the document (valueDateTime).
	ExtSeen = "https://parcours-sante.org/fhir/StructureDefinition/seen-by-patient"
	// ExtRequestDigest is the digest of what a filing or an upload asked
	// for (valueString), to tell a retry from another request reusing its
	// source or client id.
	ExtRequestDigest = "https://parcours-sante.org/fhir/StructureDefinition/request-digest"
	// SystemDocumentSource is the identifier system of a filed
	// DocumentReference: the value is a digest of the establishment and
	// NewDocument.SourceID, the key of its conditional create. The
	// SourceID itself is the masterIdentifier, under SystemSourceID.
	SystemDocumentSource = "https://parcours-sante.org/fhir/sid/document-source"
	// SystemSourceID qualifies the masterIdentifier of a filed document.
	SystemSourceID = "https://parcours-sante.org/fhir/sid/source-id"
	// SystemUploadKey is the identifier system of a patient's upload: a
	// digest of the patient id and NewUpload.ClientID.
	SystemUploadKey = "https://parcours-sante.org/fhir/sid/upload-key"
	// SystemLOINC is LOINC (https://loinc.org).
	SystemLOINC = "http://loinc.org"
	// SystemUCUM is UCUM, for units that are UCUM codes.
	SystemUCUM = "http://unitsofmeasure.org"
	// SystemConfidentiality is HL7's v3 Confidentiality code system; R
	// (restricted) and V (very restricted) hold a document.
	SystemConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	// SystemDMPConfidentiality is the French DMP's confidentiality code
	// system (CI-SIS, OID 1.2.250.1.213.1.1.4.13), whose
	// INVISIBLE_PATIENT code holds a document.
	SystemDMPConfidentiality = "urn:oid:1.2.250.1.213.1.1.4.13"
	CodeInvisiblePatient     = "INVISIBLE_PATIENT"
	// SystemInterpretation is HL7's ObservationInterpretation.
	SystemInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
)

// LOINC codes of the document types (see portal.DocumentType).
var docTypeLOINC = map[portal.DocumentType]string{
	portal.DocConsultationReport: "11488-4",
	portal.DocOperativeReport:    "11504-8",
	portal.DocDischargeLetter:    "18842-5",
	portal.DocImagingReport:      "18748-4",
	portal.DocLabReport:          "11502-2",
	portal.DocPatientDocument:    "51855-5",
}

// loincDocType is the type of a LOINC document code; pathology (11526-1)
// is a lab report.
func loincDocType(code string) (portal.DocumentType, bool) {
	if code == "11526-1" {
		return portal.DocLabReport, true
	}
	for t, c := range docTypeLOINC {
		if c == code {
			return t, true
		}
	}
	return "", false
}

// attachment is an Attachment pointing to a Binary
// (https://hl7.org/fhir/R4/datatypes.html#Attachment).
type attachment struct {
	Name, ContentType string
	Size              int64
	SHA256            string
	Binary            string // Binary id
}

func attachmentFrom(a gjson.Result) (attachment, error) {
	at := attachment{
		Name:        a.Get("title").String(),
		ContentType: a.Get("contentType").String(),
		Size:        a.Get("size").Int(),
		SHA256:      extension(a, ExtSHA256).Get("valueString").String(),
	}
	bin, ok := refID(a.Get("url").String(), "Binary")
	if !ok || at.ContentType == "" || at.Size <= 0 || len(at.SHA256) != 64 {
		return attachment{}, errors.New("attachment: no Binary url, content type, size or SHA-256")
	}
	at.Binary = bin
	return at, nil
}

// documentRef is a DocumentReference as the backend reads it.
type documentRef struct {
	ID, Version, Raw string
	Establishment    string // custodian
	Service          string // ExtDocumentService
	Patient          string // subject
	Type             portal.DocumentType
	Title, Author    string
	Origin           portal.Origin
	Date, Created    time.Time
	File             attachment
	Report           string // context.related DiagnosticReport, if any
	Sensitive        bool
	Due, Released    *time.Time
	ReleasedBy       portal.Author
	Seen             *time.Time
	Digest           string

	// Filled from the report, for lab and imaging reports.
	Observations []portal.Observation
	Images       []image
}

// image is an imaging report's image: a Media and its Binary.
type image struct {
	portal.DocumentImage
	Binary string
}

// documentRefFrom reads a DocumentReference. One that is not current, or
// lacks what a portal.Document needs, is an error.
func documentRefFrom(r gjson.Result) (documentRef, error) {
	d := documentRef{
		ID:      r.Get("id").String(),
		Version: r.Get("meta.versionId").String(),
		Raw:     r.Raw,
		Title:   r.Get("description").String(),
		Author:  r.Get("author.0.display").String(),
		Digest:  extension(r, ExtRequestDigest).Get("valueString").String(),
	}
	if !validID(d.ID) || r.Get("status").String() != "current" {
		return documentRef{}, errors.New("DocumentReference: no id, or not current")
	}
	var ok bool
	if d.Establishment, ok = refID(r.Get("custodian.reference").String(), "Organization"); !ok {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: no custodian Organization", d.ID)
	}
	if d.Service, ok = refID(extension(r, ExtDocumentService).Get("valueReference.reference").String(), "HealthcareService"); !ok {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: no service", d.ID)
	}
	if d.Patient, ok = refID(r.Get("subject.reference").String(), "Patient"); !ok {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: no Patient subject", d.ID)
	}
	r.Get("type.coding").ForEach(func(_, c gjson.Result) bool {
		if c.Get("system").String() == SystemLOINC {
			d.Type, ok = loincDocType(c.Get("code").String())
			return !ok
		}
		return true
	})
	if d.Type == "" {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: no LOINC type", d.ID)
	}
	d.Origin = portal.OriginCareTeam
	if _, isPatient := refID(r.Get("author.0.reference").String(), "Patient"); isPatient && d.Type == portal.DocPatientDocument {
		d.Origin = portal.OriginPatient
	}
	if d.Created, ok = parseInstant(r.Get("date").String()); !ok {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: no date", d.ID)
	}
	if d.Date, ok = parseDateTime(r.Get("context.period.start").String()); !ok {
		d.Date = d.Created
	}
	file, err := attachmentFrom(r.Get("content.0.attachment"))
	if err != nil {
		return documentRef{}, fmt.Errorf("DocumentReference/%s: %w", d.ID, err)
	}
	d.File = file
	r.Get("context.related").ForEach(func(_, rel gjson.Result) bool {
		if id, ok := refID(rel.Get("reference").String(), "DiagnosticReport"); ok {
			d.Report = id
			return false
		}
		return true
	})
	d.Sensitive = held(r)
	d.Due = extTime(r, ExtReleaseDue)
	d.Released = extTime(r, ExtReleased)
	if by := extension(r, ExtReleasedBy).Get("valueReference"); by.Exists() {
		id, _ := refID(by.Get("reference").String(), "Practitioner")
		d.ReleasedBy = portal.Author{Kind: portal.AuthorPractitioner, ID: id, Name: by.Get("display").String()}
	}
	d.Seen = extTime(r, ExtSeen)
	return d, nil
}

// extTime reads the valueDateTime of extension url of r, nil if absent or
// malformed.
func extTime(r gjson.Result, url string) *time.Time {
	t, ok := parseDateTime(extension(r, url).Get("valueDateTime").String())
	if !ok {
		return nil
	}
	return &t
}

// held reports whether r carries a label that holds it back from its
// patient: v3 Confidentiality R or V, or the DMP's INVISIBLE_PATIENT, in
// meta.security, meta.tag or (DocumentReference) securityLabel.
func held(r gjson.Result) bool {
	found := false
	check := func(_, c gjson.Result) bool {
		sys, code := c.Get("system").String(), c.Get("code").String()
		if sys == SystemConfidentiality && (code == "R" || code == "V") || sys == SystemDMPConfidentiality && code == CodeInvisiblePatient {
			found = true
			return false
		}
		return true
	}
	r.Get("meta.security").ForEach(check)
	r.Get("meta.tag").ForEach(check)
	r.Get("securityLabel").ForEach(func(_, cc gjson.Result) bool {
		cc.Get("coding").ForEach(check)
		return !found
	})
	return found
}

// diagnosticReport is a report's links to its results and images.
type diagnosticReport struct {
	ID        string
	Results   []string // Observation ids, in order
	Media     []string // Media ids, in order
	Sensitive bool
}

func diagnosticReportFrom(r gjson.Result) (diagnosticReport, error) {
	d := diagnosticReport{ID: r.Get("id").String(), Sensitive: held(r)}
	if !validID(d.ID) {
		return diagnosticReport{}, errors.New("DiagnosticReport: no valid id")
	}
	r.Get("result").ForEach(func(_, x gjson.Result) bool {
		if id, ok := refID(x.Get("reference").String(), "Observation"); ok {
			d.Results = append(d.Results, id)
		}
		return true
	})
	r.Get("media").ForEach(func(_, x gjson.Result) bool {
		if id, ok := refID(x.Get("link.reference").String(), "Media"); ok {
			d.Media = append(d.Media, id)
		}
		return true
	})
	return d, nil
}

// observationFrom reads an Observation with a valueQuantity. Its
// Interpretation is computed, never read; Document is left to the caller.
func observationFrom(r gjson.Result) (portal.Observation, bool, error) {
	o := portal.Observation{ID: r.Get("id").String()}
	if !validID(o.ID) {
		return o, false, errors.New("Observation: no valid id")
	}
	coding := r.Get("code.coding.0")
	o.Code = coding.Get("code").String()
	o.Display = text(coding, "display")
	if o.Display.FR == "" {
		o.Display = text(r.Get("code"), "text")
	}
	if portal.ValidateAnalyteCode(o.Code) != nil {
		return o, false, fmt.Errorf("Observation/%s: no valid code", o.ID)
	}
	q := r.Get("valueQuantity")
	v, dec, ok := decimal(q.Get("value"))
	if !ok {
		return o, false, fmt.Errorf("Observation/%s: no valueQuantity", o.ID)
	}
	o.Value, o.Decimals = v, dec
	for _, e := range q.Get("_value.extension").Array() {
		if e.Get("url").String() == ExtQuantityPrecision {
			if p := e.Get("valueInteger"); p.Type == gjson.Number && p.Int() >= 0 && p.Int() <= portal.MaxObservationDecimals {
				o.Decimals = int(p.Int())
			}
		}
	}
	o.Unit = q.Get("unit").String()
	if o.Unit == "" {
		o.Unit = q.Get("code").String()
	}
	if low, _, ok := decimal(r.Get("referenceRange.0.low.value")); ok {
		o.Low = &low
	}
	if high, _, ok := decimal(r.Get("referenceRange.0.high.value")); ok {
		o.High = &high
	}
	o.Interpretation = portal.Interpret(o.Value, o.Low, o.High)
	eff, ok := parseDateTime(r.Get("effectiveDateTime").String())
	if !ok {
		eff, ok = parseDateTime(r.Get("effectiveInstant").String())
	}
	if !ok {
		return o, false, fmt.Errorf("Observation/%s: no effective time", o.ID)
	}
	o.Effective = eff
	return o, held(r), nil
}

// decimal reads a JSON number as FHIR's exact decimal: its value and the
// digits after its decimal point ("7.0" has 1).
func decimal(n gjson.Result) (float64, int, bool) {
	if n.Type != gjson.Number {
		return 0, 0, false
	}
	raw := strings.TrimSpace(n.Raw)
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, 0, false
	}
	dec := 0
	mant, exp, hasExp := strings.Cut(strings.ToLower(raw), "e")
	if _, frac, ok := strings.Cut(mant, "."); ok {
		dec = len(frac)
	}
	if hasExp {
		e, err := strconv.Atoi(exp)
		if err != nil {
			return 0, 0, false
		}
		dec -= e
	}
	return v, min(max(dec, 0), portal.MaxObservationDecimals), true
}

// mediaFrom reads a Media holding an image in a Binary.
func mediaFrom(r gjson.Result) (image, bool, error) {
	id := r.Get("id").String()
	if !validID(id) {
		return image{}, false, errors.New("Media: no valid id")
	}
	a, err := attachmentFrom(r.Get("content"))
	if err != nil {
		return image{}, false, fmt.Errorf("Media/%s: %w", id, err)
	}
	return image{
		DocumentImage: portal.DocumentImage{ID: id, Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256},
		Binary:        a.Binary,
	}, held(r), nil
}

// binaryFrom reads a Binary's bytes (https://hl7.org/fhir/R4/binary.html).
func binaryFrom(r gjson.Result) ([]byte, error) {
	data := r.Get("data")
	if data.Type != gjson.String {
		return nil, errors.New("Binary: no data")
	}
	return decodeBase64(data.String())
}

// toPortal returns d as viewer sees it at now.
func (d documentRef) toPortal(viewer portal.Author, now time.Time, loc *time.Location, names map[string]string) portal.Document {
	in := func(t time.Time) time.Time { return t.In(loc) }
	doc := portal.Document{
		ID: d.ID, Establishment: d.Establishment, Service: d.Service, Patient: d.Patient,
		Type: d.Type, Title: d.Title, Date: in(d.Date), Author: d.Author, Origin: d.Origin,
		FileName: d.File.Name, ContentType: d.File.ContentType, Size: d.File.Size, SHA256: d.File.SHA256,
		Images: []portal.DocumentImage{}, Observations: []portal.Observation{},
		New: d.Seen == nil && d.Origin != portal.OriginPatient, Sensitive: d.Sensitive,
		Release: portal.ReleaseNotRequired, Created: in(d.Created),
	}
	if viewer.Kind == portal.AuthorPractitioner {
		doc.PatientName = names[d.Patient]
	}
	for _, img := range d.Images {
		doc.Images = append(doc.Images, img.DocumentImage)
	}
	for _, o := range d.Observations {
		o.Document, o.Effective = d.ID, in(o.Effective)
		doc.Observations = append(doc.Observations, o)
	}
	if d.Sensitive {
		doc.Release = portal.ReleaseHeld
		if d.Due != nil {
			t := in(*d.Due)
			doc.ReleaseDue = &t
		}
		switch {
		case d.Released != nil:
			t := in(*d.Released)
			by := d.ReleasedBy
			doc.Release, doc.Released, doc.ReleasedBy = portal.ReleaseReleased, &t, &by
		case d.Due != nil && !d.Due.After(now):
			doc.Release, doc.Released = portal.ReleaseReleased, doc.ReleaseDue
		}
	}
	return doc
}

// visibleToPatient is the release rule: the patient sees d if it is not
// sensitive, a practitioner released it, or its due time has passed.
func (d documentRef) visibleToPatient(now time.Time) bool {
	return !d.Sensitive || d.Released != nil || d.Due != nil && !d.Due.After(now)
}

// requestDigest returns a digest of fields under a kind, each field
// length-prefixed so that no two lists collide.
func requestDigest(kind string, fields ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", kind, len(fields))
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s\x00", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sha256Hex is the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// decodeBase64 decodes a base64Binary (https://hl7.org/fhir/R4/datatypes.html#base64Binary).
func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
