package fhir

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// This file writes documents: FileDocument (portal.DocumentFiling) and a
// patient's UploadDocument.
//
// FHIR servers need not apply a transaction atomically (Medplum's engine
// does not), so a document is written in an order that never shows half of
// it: first its Binaries, Media, Observations and DiagnosticReport under
// ids of the backend's own (PUT, in transactions of at most 50 entries,
// safe to send again), then its DocumentReference by a conditional create
// (If-None-Exist) on an identifier derived from the source id (or the
// patient's client id). Every read starts from a DocumentReference, so the
// other resources exist for no one until it does. A write that fails
// before the DocumentReference, or a concurrent retry that finds it made,
// leaves resources no DocumentReference points to: unreachable, and
// listed for clean-up by the identifier search of docs/fhir.md.

// ExtQuantityPrecision is HL7's extension giving the digits a decimal was
// reported with (http://hl7.org/fhir/StructureDefinition/quantity-precision),
// on valueQuantity.value: JSON numbers lose "7.0"'s trailing zero on many
// servers.
const ExtQuantityPrecision = "http://hl7.org/fhir/StructureDefinition/quantity-precision"

// SystemAnalyte is the code system of an analyte code that is not LOINC.
const SystemAnalyte = "https://parcours-sante.org/fhir/CodeSystem/analyte"

// maxTransactionEntries is the most entries one transaction carries
// (Medplum allows 50).
const maxTransactionEntries = 50

var loincRE = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)

// ucum maps the units written as UCUM codes (valueQuantity.system/code).
var ucum = map[string]string{
	"%": "%", "g/L": "g/L", "g/dL": "g/dL", "mg/L": "mg/L", "mg/dL": "mg/dL", "mmol/L": "mmol/L",
	"µmol/L": "umol/L", "mmol/mol": "mmol/mol", "U/L": "U/L", "mL/min": "mL/min",
}

// newResourceID returns a fresh random logical id.
func newResourceID() string {
	var b [16]byte
	rand.Read(b[:])
	return "p" + hex.EncodeToString(b[:])
}

// securityMeta returns the meta of a sensitive resource: v3
// Confidentiality R and the DMP's INVISIBLE_PATIENT.
func securityMeta(sensitive bool) map[string]any {
	if !sensitive {
		return nil
	}
	return map[string]any{"security": securityCodings()}
}

func securityCodings() []any {
	return []any{
		map[string]any{"system": SystemConfidentiality, "code": "R", "display": "restricted"},
		map[string]any{"system": SystemDMPConfidentiality, "code": CodeInvisiblePatient, "display": "Non visible par le patient"},
	}
}

// withMeta sets res's meta if any.
func withMeta(res map[string]any, meta map[string]any) map[string]any {
	if meta != nil {
		res["meta"] = meta
	}
	return res
}

// attachmentJSON is an Attachment to Binary/bin for file.
func attachmentJSON(name, contentType string, content []byte, bin string) map[string]any {
	sha1sum := sha1.Sum(content)
	return map[string]any{
		"contentType": contentType,
		"size":        len(content),
		"title":       name,
		"url":         ref("Binary", bin),
		"hash":        base64.StdEncoding.EncodeToString(sha1sum[:]),
		"extension":   []any{map[string]any{"url": ExtSHA256, "valueString": sha256Hex(content)}},
	}
}

func binaryJSON(id, contentType string, content []byte, meta map[string]any) map[string]any {
	return withMeta(map[string]any{
		"resourceType": "Binary", "id": id, "contentType": contentType,
		"data": base64.StdEncoding.EncodeToString(content),
	}, meta)
}

// number writes v with decimals digits when that is exact, else as short
// as exact.
func number(v float64, decimals int) json.Number {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if f, err := strconv.ParseFloat(s, 64); err != nil || f != v {
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return json.Number(s)
}

func translationJSON(en string) map[string]any {
	return map[string]any{"extension": []any{map[string]any{
		"url": ExtTranslation,
		"extension": []any{
			map[string]any{"url": "lang", "valueCode": "en"},
			map[string]any{"url": "content", "valueString": en},
		},
	}}}
}

// observationJSON is an Observation of a lab report.
func observationJSON(id, patient string, o portal.NewObservation, loc *time.Location, meta map[string]any) map[string]any {
	system := SystemAnalyte
	if loincRE.MatchString(o.Code) {
		system = SystemLOINC
	}
	coding := map[string]any{"system": system, "code": o.Code, "display": o.Display.FR}
	if o.Display.EN != "" {
		coding["_display"] = translationJSON(o.Display.EN)
	}
	q := map[string]any{
		"value":  number(o.Value, o.Decimals),
		"_value": map[string]any{"extension": []any{map[string]any{"url": ExtQuantityPrecision, "valueInteger": o.Decimals}}},
	}
	if o.Unit != "" {
		q["unit"] = o.Unit
		if c, ok := ucum[o.Unit]; ok {
			q["system"], q["code"] = SystemUCUM, c
		}
	}
	res := map[string]any{
		"resourceType": "Observation", "id": id, "status": "final",
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
		"code":              map[string]any{"coding": []any{coding}},
		"subject":           referenceJSON{Reference: ref("Patient", patient)},
		"effectiveDateTime": o.Effective.In(loc).Format(time.RFC3339Nano),
		"valueQuantity":     q,
	}
	if o.Low != nil || o.High != nil {
		rr := map[string]any{}
		if o.Low != nil {
			rr["low"] = map[string]any{"value": number(*o.Low, -1)}
		}
		if o.High != nil {
			rr["high"] = map[string]any{"value": number(*o.High, -1)}
		}
		res["referenceRange"] = []any{rr}
	}
	if in := portal.Interpret(o.Value, o.Low, o.High); in != portal.InterpretationNone {
		res["interpretation"] = []any{map[string]any{"coding": []any{map[string]any{"system": SystemInterpretation, "code": string(in)}}}}
	}
	return withMeta(res, meta)
}

// putAll writes resources, which carry their ids, with PUT in transactions
// of at most maxTransactionEntries, in order.
func (b *Backend) putAll(ctx context.Context, resources []map[string]any) error {
	for chunk := range slices.Chunk(resources, maxTransactionEntries) {
		entries := make([]any, len(chunk))
		for i, r := range chunk {
			entries[i] = map[string]any{
				"resource": r,
				"request":  map[string]any{"method": "PUT", "url": fmt.Sprint(r["resourceType"], "/", r["id"])},
			}
		}
		body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
		if err != nil {
			return err
		}
		resp, err := b.do(ctx, request{method: http.MethodPost, body: body, op: opWrite})
		if err != nil {
			return err
		}
		out, err := parseBundle(resp.body)
		if err != nil || len(out.responses) != len(chunk) {
			b.log.Warn("fhir: unexpected transaction answer", "error", err)
			return portal.Errorf(portal.ErrBackendUnavailable, "FHIR transaction: unexpected answer")
		}
		for i, r := range out.responses {
			if status := r.Get("status").String(); !strings.HasPrefix(status, "2") {
				issues, _ := parseOperationOutcome([]byte(r.Get("outcome").Raw))
				code, _ := strconv.Atoi(strings.Fields(status + " 0")[0])
				err := newCallError(http.MethodPut, fmt.Sprint(chunk[i]["resourceType"]), code, issues, opWrite, nil)
				b.logFailure(ctx, request{method: http.MethodPut, path: fmt.Sprint(chunk[i]["resourceType"])}, code, 1, issues, nil)
				return err
			}
		}
	}
	return nil
}

// createDocumentRef makes a DocumentReference by a conditional create on
// identifier system|key, and returns its id and whether it was created
// (false: it existed, made by an earlier or concurrent request).
func (b *Backend) createDocumentRef(ctx context.Context, res map[string]any, system, key string) (string, bool, error) {
	body, err := json.Marshal(res)
	if err != nil {
		return "", false, err
	}
	r, _, created, err := b.write(ctx, request{
		method: http.MethodPost, path: "DocumentReference", body: body,
		ifNoneExist: "identifier=" + system + "|" + key, op: opWrite,
	}, "DocumentReference")
	if err != nil {
		return "", false, err
	}
	return r.Get("id").String(), created, nil
}

// findDocument returns the current DocumentReference with identifier
// system|key, if any.
func (b *Backend) findDocument(ctx context.Context, system, key string) (documentRef, bool, error) {
	docs, _, err := b.documentRefs(ctx, viewerScope{}, values("identifier", system+"|"+key))
	if err != nil || len(docs) == 0 {
		return documentRef{}, false, err
	}
	return docs[0], true, nil
}

// checkPlace returns the time zone of establishment est after checking
// that service is one of its services: either unknown is ErrNotFound.
func (b *Backend) checkPlace(ctx context.Context, est, service string) (*time.Location, error) {
	if !validID(est) {
		return nil, portal.Errorf(portal.ErrNotFound, "establishment %q not found", est)
	}
	o, err := b.organization(ctx, est)
	if err != nil {
		return nil, err
	}
	if !validID(service) {
		return nil, portal.Errorf(portal.ErrNotFound, "service %q not found", service)
	}
	svc, err := b.service(ctx, service)
	if err != nil {
		return nil, err
	}
	if svc.Organization != est {
		return nil, portal.Errorf(portal.ErrNotFound, "service %q not found", service)
	}
	return b.location(o.TimeZone), nil
}

// filingDigest is the digest of everything nd asks for.
func filingDigest(nd portal.NewDocument) string {
	fields := []string{nd.Establishment, nd.Service, nd.Patient, string(nd.Type), nd.Title,
		strconv.FormatInt(nd.Date.UnixNano(), 10), nd.Author, strconv.FormatBool(nd.Sensitive),
		nd.File.Name, nd.File.ContentType, sha256Hex(nd.File.Content), strconv.Itoa(len(nd.Images)), strconv.Itoa(len(nd.Observations))}
	for _, f := range nd.Images {
		fields = append(fields, f.Name, f.ContentType, sha256Hex(f.Content))
	}
	bound := func(b *float64) string {
		if b == nil {
			return "-"
		}
		return strconv.FormatFloat(*b, 'g', -1, 64)
	}
	for _, o := range nd.Observations {
		fields = append(fields, o.Code, o.Display.FR, o.Display.EN, strconv.FormatFloat(o.Value, 'g', -1, 64),
			strconv.Itoa(o.Decimals), o.Unit, bound(o.Low), bound(o.High), strconv.FormatInt(o.Effective.UnixNano(), 10))
	}
	return requestDigest("document/v1", fields...)
}

// FileDocument files nd for nd.Patient (see the top of this file for the
// order of the writes) and returns it as the care team sees it.
//
// An invalid document is refused first (portal.NewDocument.Validate). A
// SourceID already filed in the establishment returns the document filed
// then if the request is the same, and is ErrIdempotencyKeyReused
// otherwise. An unknown establishment, service or patient is ErrNotFound.
// A sensitive document of an establishment with a release delay
// (Config.ReleaseDelays) is due that delay after now.
func (b *Backend) FileDocument(ctx context.Context, nd portal.NewDocument) (portal.Document, error) {
	if err := nd.Validate(b.cfg.MaxDocumentSize); err != nil {
		return portal.Document{}, err
	}
	loc, err := b.checkPlace(ctx, nd.Establishment, nd.Service)
	if err != nil {
		return portal.Document{}, err
	}
	if _, _, err := b.read(ctx, "Patient", nd.Patient); err != nil {
		return portal.Document{}, err
	}
	system := viewerScope{}
	key := requestDigest("source/v1", nd.Establishment, nd.SourceID)
	digest := filingDigest(nd)
	same := func(d documentRef) (portal.Document, error) {
		if d.Digest != digest {
			return portal.Document{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "source id already used by document %s for another document", d.ID)
		}
		return d.toPortal(system.viewer, b.now(), loc, nil), nil
	}
	if d, ok, err := b.findDocument(ctx, SystemDocumentSource, key); err != nil {
		return portal.Document{}, err
	} else if ok {
		return same(d)
	}

	now := b.now().In(loc).Truncate(time.Second)
	meta := securityMeta(nd.Sensitive)
	patientRef := referenceJSON{Reference: ref("Patient", nd.Patient)}
	fileBin := newResourceID()
	resources := []map[string]any{binaryJSON(fileBin, nd.File.ContentType, nd.File.Content, meta)}
	var media, results []any
	for _, img := range nd.Images {
		bin, m := newResourceID(), newResourceID()
		resources = append(resources, binaryJSON(bin, img.ContentType, img.Content, meta), withMeta(map[string]any{
			"resourceType": "Media", "id": m, "status": "completed", "subject": patientRef,
			"content": attachmentJSON(img.Name, img.ContentType, img.Content, bin),
		}, meta))
		media = append(media, map[string]any{"link": referenceJSON{Reference: ref("Media", m)}})
	}
	for _, o := range nd.Observations {
		id := newResourceID()
		resources = append(resources, observationJSON(id, nd.Patient, o, loc, meta))
		results = append(results, referenceJSON{Reference: ref("Observation", id)})
	}
	loinc := docTypeLOINC[nd.Type]
	fileAttachment := attachmentJSON(nd.File.Name, nd.File.ContentType, nd.File.Content, fileBin)
	context := map[string]any{"period": map[string]any{"start": nd.Date.In(loc).Format(time.RFC3339Nano)}}
	if nd.Type == portal.DocLabReport || nd.Type == portal.DocImagingReport {
		category := "LAB"
		if nd.Type == portal.DocImagingReport {
			category = "RAD"
		}
		report := newResourceID()
		dr := map[string]any{
			"resourceType": "DiagnosticReport", "id": report, "status": "final",
			"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": category}}}},
			"code":              map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": loinc}}, "text": nd.Title},
			"subject":           patientRef,
			"effectiveDateTime": nd.Date.In(loc).Format(time.RFC3339Nano),
			"issued":            formatInstant(now),
			"presentedForm":     []any{fileAttachment},
		}
		if len(results) > 0 {
			dr["result"] = results
		}
		if len(media) > 0 {
			dr["media"] = media
		}
		resources = append(resources, withMeta(dr, meta))
		context["related"] = []any{referenceJSON{Reference: ref("DiagnosticReport", report)}}
	}
	if err := b.putAll(ctx, resources); err != nil {
		return portal.Document{}, err
	}
	ext := []any{
		map[string]any{"url": ExtDocumentService, "valueReference": referenceJSON{Reference: ref("HealthcareService", nd.Service)}},
		map[string]any{"url": ExtRequestDigest, "valueString": digest},
	}
	if delay := b.cfg.ReleaseDelays[nd.Establishment]; delay > 0 && nd.Sensitive {
		ext = append(ext, map[string]any{"url": ExtReleaseDue, "valueDateTime": now.Add(delay).Format(time.RFC3339Nano)})
	}
	doc := map[string]any{
		"resourceType":     "DocumentReference",
		"extension":        ext,
		"masterIdentifier": identifierJSON{System: SystemSourceID, Value: nd.SourceID},
		"identifier":       []any{identifierJSON{System: SystemDocumentSource, Value: key}},
		"status":           "current",
		"type":             map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": loinc}}},
		"subject":          patientRef,
		"date":             formatInstant(now),
		"author":           []any{map[string]any{"display": nd.Author}},
		"custodian":        referenceJSON{Reference: ref("Organization", nd.Establishment)},
		"description":      nd.Title,
		"content":          []any{map[string]any{"attachment": fileAttachment}},
		"context":          context,
	}
	if nd.Sensitive {
		doc["meta"] = meta
		doc["securityLabel"] = []any{map[string]any{"coding": securityCodings()}}
	}
	id, _, err := b.createDocumentRef(ctx, doc, SystemDocumentSource, key)
	if err != nil {
		return portal.Document{}, err
	}
	d, err := b.one(ctx, system, id)
	if err != nil {
		return portal.Document{}, err
	}
	return same(d)
}

// UploadDocument stores a document of the context's patient for the care
// team of u.Service: a Binary, then a DocumentReference of type Patient
// Note (51855-5) whose author is the Patient, made by a conditional create
// on identifier SystemUploadKey|digest(patient, client id).
//
// An invalid upload is refused first (portal.NewUpload.Validate). A client
// id this patient already used returns the document uploaded then if the
// request is the same, and is ErrIdempotencyKeyReused otherwise. Then an
// unknown establishment or service is ErrNotFound, and a service the
// patient has no link with ErrServiceNotLinked: a link is a booked
// Appointment with the service (Appointment?patient=&actor=), or a
// document of that service the patient sees (a held one does not count).
func (b *Backend) UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Document{}, err
	}
	if !validID(viewer.ID) {
		return portal.Document{}, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	if err := u.Validate(b.cfg.MaxDocumentSize); err != nil {
		return portal.Document{}, err
	}
	s := viewerScope{viewer: viewer}
	sum := sha256Hex(u.File.Content)
	digest := requestDigest("upload/v1", u.Establishment, u.Service, u.Title, u.File.Name, u.File.ContentType, sum)
	key := requestDigest("upload-key/v1", viewer.ID, u.ClientID)
	same := func(d documentRef) (portal.Document, error) {
		if d.Digest != digest {
			return portal.Document{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "client id already used by document %s for another upload", d.ID)
		}
		return b.portalDoc(ctx, s, d, nil)
	}
	if d, ok, err := b.findDocument(ctx, SystemUploadKey, key); err != nil {
		return portal.Document{}, err
	} else if ok {
		if d.Patient != viewer.ID {
			return portal.Document{}, portal.Errorf(portal.ErrInternal, "fhir: upload key of another patient")
		}
		return same(d)
	}
	loc, err := b.checkPlace(ctx, u.Establishment, u.Service)
	if err != nil {
		return portal.Document{}, err
	}
	if err := b.linked(ctx, s, u.Establishment, u.Service); err != nil {
		return portal.Document{}, err
	}
	name := ""
	if p, err := b.Patient(ctx, viewer.ID); err == nil {
		name = p.DisplayName()
	} else if !portal.IsCode(err, portal.ErrNotFound) {
		return portal.Document{}, err
	}
	now := b.now().In(loc).Truncate(time.Second)
	bin := newResourceID()
	if err := b.putAll(ctx, []map[string]any{binaryJSON(bin, u.File.ContentType, u.File.Content, nil)}); err != nil {
		return portal.Document{}, err
	}
	doc := map[string]any{
		"resourceType": "DocumentReference",
		"extension": []any{
			map[string]any{"url": ExtDocumentService, "valueReference": referenceJSON{Reference: ref("HealthcareService", u.Service)}},
			map[string]any{"url": ExtRequestDigest, "valueString": digest},
			map[string]any{"url": ExtSeen, "valueDateTime": formatInstant(now)},
		},
		"identifier":  []any{identifierJSON{System: SystemUploadKey, Value: key}},
		"status":      "current",
		"type":        map[string]any{"coding": []any{map[string]any{"system": SystemLOINC, "code": docTypeLOINC[portal.DocPatientDocument]}}},
		"subject":     referenceJSON{Reference: ref("Patient", viewer.ID)},
		"date":        formatInstant(now),
		"author":      []any{referenceJSON{Reference: ref("Patient", viewer.ID), Display: name}},
		"custodian":   referenceJSON{Reference: ref("Organization", u.Establishment)},
		"description": u.Title,
		"content":     []any{map[string]any{"attachment": attachmentJSON(u.File.Name, u.File.ContentType, u.File.Content, bin)}},
		"context":     map[string]any{"period": map[string]any{"start": formatInstant(now)}},
	}
	id, _, err := b.createDocumentRef(ctx, doc, SystemUploadKey, key)
	if err != nil {
		return portal.Document{}, err
	}
	d, err := b.one(ctx, s, id)
	if err != nil {
		return portal.Document{}, err
	}
	return same(d)
}

// linked reports ErrServiceNotLinked unless the patient has a booked
// Appointment with service, or sees a document of it in est.
func (b *Backend) linked(ctx context.Context, s viewerScope, est, service string) error {
	found, err := b.search(ctx, "Appointment", values(
		"patient", ref("Patient", s.viewer.ID), "actor", ref("HealthcareService", service), "status", "booked"))
	if err != nil {
		return err
	}
	for _, r := range found {
		if a, err := appointmentFrom(r); err == nil && a.Status == "booked" && a.Patient == s.viewer.ID && a.Service == service {
			return nil
		}
	}
	docs, _, err := b.documentRefs(ctx, s, values("custodian", ref("Organization", est), "subject", ref("Patient", s.viewer.ID)))
	if err != nil {
		return err
	}
	if slices.ContainsFunc(docs, func(d documentRef) bool { return d.Service == service && d.Establishment == est }) {
		return nil
	}
	return portal.Errorf(portal.ErrServiceNotLinked, "patient has no link with service %q of establishment %q", service, est)
}
