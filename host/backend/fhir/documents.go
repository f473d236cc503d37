package fhir

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// This file is portal.Documents over FHIR: documents are DocumentReferences,
// lab and imaging reports DiagnosticReports with their Observations and
// Media, files Binaries (see documents_map.go and docs/fhir.md).
//
// Who sees what is decided here, never by the FHIR server's security: every
// read starts from a DocumentReference, checked against the context's
// subject (a patient: theirs, and visible under the release rule; a
// practitioner: of a service of theirs, from their PractitionerRoles, or of
// a patient who granted them access, visible under the release rule, from
// active Consents read at every request, see consent.go), and
// reaches the report, observations, media and binaries only through it. A
// document the subject may not see answers exactly as an unknown id.

// documentSizeCap is the largest file whose Binary (base64, 4/3 of its
// size, and some JSON around it) fits in a response of maxResponse bytes.
func documentSizeCap(maxResponse int64) int64 {
	return max((maxResponse-64<<10)/4*3, 1024)
}

// MaxDocumentSize returns the largest file b accepts, in bytes.
func (b *Backend) MaxDocumentSize() int64 { return b.cfg.MaxDocumentSize }

// requireSide returns the context's subject if it is of kind, else
// ErrUnauthenticated (none) or ErrForbidden (the other side).
func requireSide(ctx context.Context, kind portal.AuthorKind) (portal.Author, error) {
	a, err := portal.RequireAuthor(ctx)
	if err != nil {
		return a, err
	}
	if a.Kind != kind {
		return a, portal.Errorf(portal.ErrForbidden, "this is for a %s only", kind)
	}
	return a, nil
}

func documentNotFound(id string) error {
	return portal.Errorf(portal.ErrNotFound, "document %q not found", id)
}

func imageNotFound(docID, imageID string) error {
	return portal.Errorf(portal.ErrNotFound, "image %q of document %q not found", imageID, docID)
}

// viewerScope is what a viewer may see: a patient their own documents, a
// practitioner those of their services, and the documents their patient
// sees of the patients who granted them access (documentScope only).
type viewerScope struct {
	viewer   portal.Author
	services map[string]bool // a practitioner's
	granted  map[string]bool // patients who granted the practitioner access
}

// scope returns the scope of viewer; a practitioner's services come from
// their active PractitionerRoles.
func (b *Backend) scope(ctx context.Context, viewer portal.Author) (viewerScope, error) {
	s := viewerScope{viewer: viewer, services: map[string]bool{}}
	if viewer.Kind != portal.AuthorPractitioner || !validID(viewer.ID) {
		return s, nil
	}
	found, err := b.search(ctx, "PractitionerRole", values("practitioner", ref("Practitioner", viewer.ID)))
	if err != nil {
		return s, err
	}
	for _, r := range found {
		role, err := practitionerRoleFrom(r)
		if err != nil {
			b.skip("PractitionerRole", err)
			continue
		}
		if role.Active && role.Practitioner == viewer.ID {
			for _, svc := range role.Services {
				s.services[svc] = true
			}
		}
	}
	return s, nil
}

// documentScope is scope with, for a practitioner, the patients who
// granted them access (active Consents, consent.go), read from the server
// at every call so that a revocation takes effect at the next request.
// Grants open documents only: messaging and questionnaires use scope.
func (b *Backend) documentScope(ctx context.Context, viewer portal.Author) (viewerScope, error) {
	s, err := b.scope(ctx, viewer)
	if err != nil || viewer.Kind != portal.AuthorPractitioner || !validID(viewer.ID) {
		return s, err
	}
	s.granted, err = b.grantedPatients(ctx, viewer.ID)
	return s, err
}

// reaches reports whether d is within the scope before the release rule:
// a patient's own, of a practitioner's services or of a patient who
// granted them access. The system (filing) reaches everything.
func (s viewerScope) reaches(d documentRef) bool {
	switch s.viewer.Kind {
	case portal.AuthorPatient:
		return d.Patient == s.viewer.ID
	case portal.AuthorPractitioner:
		return s.services[d.Service] || s.granted[d.Patient]
	}
	return true
}

// sees reports whether the scope sees d at now. A practitioner sees every
// document of their services, held or not; one granted access by d's
// patient sees it as the patient does: a held document stays absent to
// them, so they never release it. The system (filing) sees everything.
func (s viewerScope) sees(d documentRef, now time.Time) bool {
	switch s.viewer.Kind {
	case portal.AuthorPatient:
		return d.Patient == s.viewer.ID && d.visibleToPatient(now)
	case portal.AuthorPractitioner:
		return s.services[d.Service] || s.granted[d.Patient] && d.visibleToPatient(now)
	}
	return true
}

// documentRefs reads the DocumentReferences of search q (status current,
// with their subjects included for names), completes them with their
// reports, and returns those the scope sees, with the patients' names.
func (b *Backend) documentRefs(ctx context.Context, s viewerScope, q url.Values) ([]documentRef, map[string]string, error) {
	q.Set("status", "current")
	if s.viewer.Kind == portal.AuthorPractitioner {
		q.Set("_include", "DocumentReference:subject")
	}
	found, err := b.search(ctx, "DocumentReference", q)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var docs []documentRef
	for _, r := range found {
		switch r.Get("resourceType").String() {
		case "DocumentReference":
			d, err := documentRefFrom(r)
			if err != nil {
				b.skip("DocumentReference", err)
				continue
			}
			// Scope first (a patient's own, a practitioner's services),
			// the release rule once the report is read too.
			if !s.reaches(d) {
				continue
			}
			docs = append(docs, d)
		case "Patient":
			if p, err := patientFrom(r); err == nil {
				names[p.ID] = p.DisplayName()
			}
		}
	}
	if err := b.complete(ctx, docs); err != nil {
		return nil, nil, err
	}
	now := b.now()
	docs = slices.DeleteFunc(docs, func(d documentRef) bool { return !s.sees(d, now) })
	return docs, names, nil
}

// complete reads the DiagnosticReports of docs with their Observations and
// Media (one search per chunk, _include), and sets each document's
// observations, images and sensitivity: a document is sensitive if any of
// its resources is labelled so.
func (b *Backend) complete(ctx context.Context, docs []documentRef) error {
	var reports []string
	for _, d := range docs {
		if d.Report != "" {
			reports = append(reports, d.Report)
		}
	}
	if len(reports) == 0 {
		return nil
	}
	byReport := map[string]diagnosticReport{}
	obs := map[string]portal.Observation{}
	media := map[string]image{}
	sensitive := map[string]bool{} // Observation or Media id
	for chunk := range slices.Chunk(reports, searchChunk) {
		found, err := b.search(ctx, "DiagnosticReport", url.Values{
			"_id":      {strings.Join(chunk, ",")},
			"_include": {"DiagnosticReport:result", "DiagnosticReport:media"},
		})
		if err != nil {
			return err
		}
		for _, r := range found {
			switch r.Get("resourceType").String() {
			case "DiagnosticReport":
				if dr, err := diagnosticReportFrom(r); err != nil {
					b.skip("DiagnosticReport", err)
				} else {
					byReport[dr.ID] = dr
				}
			case "Observation":
				if o, held, err := observationFrom(r); err != nil {
					b.skip("Observation", err)
				} else {
					obs[o.ID], sensitive[o.ID] = o, held
				}
			case "Media":
				if m, held, err := mediaFrom(r); err != nil {
					b.skip("Media", err)
				} else {
					media[m.ID], sensitive[m.ID] = m, held
				}
			}
		}
	}
	for i := range docs {
		d := &docs[i]
		if d.Report == "" {
			continue
		}
		dr, ok := byReport[d.Report]
		if !ok {
			// A report that cannot be read: the document is held
			// from its patient rather than shown without it.
			b.log.Warn("fhir: document without its report", "document", d.ID)
			d.Sensitive = true
			continue
		}
		d.Sensitive = d.Sensitive || dr.Sensitive
		for _, id := range dr.Results {
			if o, ok := obs[id]; ok {
				d.Observations = append(d.Observations, o)
				d.Sensitive = d.Sensitive || sensitive[id]
			}
		}
		for _, id := range dr.Media {
			if m, ok := media[id]; ok {
				d.Images = append(d.Images, m)
				d.Sensitive = d.Sensitive || sensitive[id]
			}
		}
	}
	return nil
}

// one reads document id as the scope sees it; any other is ErrNotFound,
// the same as an unknown id.
func (b *Backend) one(ctx context.Context, s viewerScope, id string) (documentRef, error) {
	r, v, err := b.read(ctx, "DocumentReference", id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return documentRef{}, documentNotFound(id)
	}
	if err != nil {
		return documentRef{}, err
	}
	d, err := documentRefFrom(r)
	if err != nil {
		b.skip("DocumentReference", err)
		return documentRef{}, documentNotFound(id)
	}
	d.Version = cmp.Or(v, d.Version)
	// Out of scope before anything else is read.
	if !s.reaches(d) {
		return documentRef{}, documentNotFound(id)
	}
	docs := []documentRef{d}
	if err := b.complete(ctx, docs); err != nil {
		return documentRef{}, err
	}
	if !s.sees(docs[0], b.now()) {
		return documentRef{}, documentNotFound(id)
	}
	return docs[0], nil
}

// portalDoc returns d as the scope's viewer sees it, with the
// establishment's time zone.
func (b *Backend) portalDoc(ctx context.Context, s viewerScope, d documentRef, names map[string]string) (portal.Document, error) {
	o, err := b.organization(ctx, d.Establishment)
	if err != nil {
		return portal.Document{}, err
	}
	return d.toPortal(s.viewer, b.now(), b.location(o.TimeZone), names), nil
}

// Documents lists the documents the context's subject may see in an
// establishment, selected by f, the latest date first (then the latest
// filed, then by id). An unknown establishment, or an unknown service in
// f, is ErrNotFound.
func (b *Backend) Documents(ctx context.Context, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	viewer, err := portal.CheckDocumentFilter(ctx, f)
	if err != nil {
		return nil, err
	}
	return b.list(ctx, viewer, est, f)
}

func (b *Backend) list(ctx context.Context, viewer portal.Author, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	if viewer.Kind == portal.AuthorPatient && !validID(viewer.ID) {
		return nil, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	o, err := b.organization(ctx, est)
	if err != nil {
		return nil, err
	}
	if f.Service != "" {
		svc, err := b.service(ctx, f.Service)
		if err != nil {
			return nil, err
		}
		if svc.Organization != est {
			return nil, portal.Errorf(portal.ErrNotFound, "service %q not found", f.Service)
		}
	}
	s, err := b.documentScope(ctx, viewer)
	if err != nil {
		return nil, err
	}
	out := []portal.Document{}
	if viewer.Kind == portal.AuthorPractitioner && len(s.services) == 0 && len(s.granted) == 0 {
		return out, nil
	}
	q := values("custodian", ref("Organization", est))
	switch {
	case viewer.Kind == portal.AuthorPatient:
		q.Set("subject", ref("Patient", viewer.ID))
	case f.Patient != "":
		if !validID(f.Patient) {
			return out, nil
		}
		q.Set("subject", ref("Patient", f.Patient))
	case len(s.services) == 0 && len(s.granted) <= searchChunk:
		// Granted access only: the granting patients' documents.
		refs := make([]string, 0, len(s.granted))
		for p := range s.granted {
			refs = append(refs, ref("Patient", p))
		}
		slices.Sort(refs)
		q.Set("subject", strings.Join(refs, ","))
	}
	docs, names, err := b.documentRefs(ctx, s, q)
	if err != nil {
		return nil, err
	}
	now, loc := b.now(), b.location(o.TimeZone)
	for _, d := range docs {
		switch {
		case d.Establishment != est,
			f.Type != "" && d.Type != f.Type,
			f.Service != "" && d.Service != f.Service,
			f.Patient != "" && d.Patient != f.Patient,
			f.Held && d.visibleToPatient(now),
			f.Search != "" && !portal.MatchTitle(d.Title, f.Search):
			continue
		}
		out = append(out, d.toPortal(viewer, now, loc, names))
	}
	slices.SortFunc(out, func(x, y portal.Document) int {
		return cmp.Or(y.Date.Compare(x.Date), y.Created.Compare(x.Created), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// CountDocuments counts what Documents lists for the same arguments, and
// how many of those are new.
func (b *Backend) CountDocuments(ctx context.Context, est string, f portal.DocumentFilter) (portal.DocumentCount, error) {
	viewer, err := portal.CheckDocumentFilter(ctx, f)
	if err != nil {
		return portal.DocumentCount{}, err
	}
	docs, err := b.list(ctx, viewer, est, f)
	if err != nil {
		return portal.DocumentCount{}, err
	}
	c := portal.DocumentCount{Total: len(docs)}
	for _, d := range docs {
		if d.New {
			c.New++
		}
	}
	return c, nil
}

// Document returns a document the context's subject may see; any other is
// reported exactly as an unknown one, ErrNotFound.
func (b *Backend) Document(ctx context.Context, id string) (portal.Document, error) {
	_, doc, err := b.document(ctx, id)
	return doc, err
}

// document reads a document the context's subject may see.
func (b *Backend) document(ctx context.Context, id string) (documentRef, portal.Document, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return documentRef{}, portal.Document{}, err
	}
	s, err := b.documentScope(ctx, viewer)
	if err != nil {
		return documentRef{}, portal.Document{}, err
	}
	d, err := b.one(ctx, s, id)
	if err != nil {
		return documentRef{}, portal.Document{}, err
	}
	doc, err := b.portalDoc(ctx, s, d, b.patientNames(ctx, viewer, d.Patient))
	return d, doc, err
}

// patientNames returns the name of patient for a practitioner; nothing for
// anyone else, or when it cannot be read.
func (b *Backend) patientNames(ctx context.Context, viewer portal.Author, patient string) map[string]string {
	if viewer.Kind != portal.AuthorPractitioner {
		return nil
	}
	p, err := b.Patient(ctx, patient)
	if err != nil {
		return nil
	}
	return map[string]string{patient: p.DisplayName()}
}

// DocumentContent returns a document the context's subject may see with
// the bytes of its file (its Binary), checked against the size and SHA-256
// the document records: a mismatch is ErrInternal, never other bytes.
func (b *Backend) DocumentContent(ctx context.Context, id string) (portal.Document, []byte, error) {
	// document checks who may see it; the Binary is read only then.
	d, doc, err := b.document(ctx, id)
	if err != nil {
		return portal.Document{}, nil, err
	}
	content, err := b.binary(ctx, d.File)
	if err != nil {
		return portal.Document{}, nil, err
	}
	return doc, content, nil
}

// binary reads the bytes of a, checked against its size and SHA-256.
func (b *Backend) binary(ctx context.Context, a attachment) ([]byte, error) {
	r, _, err := b.read(ctx, "Binary", a.Binary)
	if err != nil {
		if portal.IsCode(err, portal.ErrNotFound) {
			return nil, portal.Errorf(portal.ErrInternal, "fhir: Binary %s of a document is missing", a.Binary)
		}
		return nil, err
	}
	content, err := binaryFrom(r)
	if err != nil || int64(len(content)) != a.Size || sha256Hex(content) != a.SHA256 {
		b.log.Warn("fhir: Binary does not match its attachment", "binary", a.Binary)
		return nil, portal.Errorf(portal.ErrInternal, "fhir: Binary %s does not match its document", a.Binary)
	}
	return content, nil
}

// DocumentImage returns an image (a Media of the document's report) of a
// document the context's subject may see, with its bytes. Any other image,
// and an image asked for with another document's id, is ErrNotFound.
func (b *Backend) DocumentImage(ctx context.Context, docID, imageID string) (portal.DocumentImage, []byte, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	s, err := b.documentScope(ctx, viewer)
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	d, err := b.one(ctx, s, docID)
	if err != nil {
		if portal.IsCode(err, portal.ErrNotFound) {
			return portal.DocumentImage{}, nil, imageNotFound(docID, imageID)
		}
		return portal.DocumentImage{}, nil, err
	}
	i := slices.IndexFunc(d.Images, func(img image) bool { return img.ID == imageID })
	if i < 0 {
		return portal.DocumentImage{}, nil, imageNotFound(docID, imageID)
	}
	img := d.Images[i]
	content, err := b.binary(ctx, attachment{Binary: img.Binary, Size: img.Size, SHA256: img.SHA256})
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	return img.DocumentImage, content, nil
}

// MarkDocumentSeen records, in the DocumentReference's ExtSeen (an update
// with If-Match), that the context's patient opened a document they see.
// Opening it again keeps the first time.
func (b *Backend) MarkDocumentSeen(ctx context.Context, id string) error {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return err
	}
	s := viewerScope{viewer: viewer}
	_, err = b.updateDocument(ctx, s, id, func(d documentRef) bool { return d.Seen == nil }, func(d documentRef, res map[string]any) {
		setExtension(res, ExtSeen, "valueDateTime", formatInstant(b.now().In(d.Created.Location())))
	})
	return err
}

// ReleaseDocument releases a held document of one of the context's
// practitioner's services, now, in their name (ExtReleased, ExtReleasedBy;
// an update with If-Match), and returns it. A document that is not held is
// returned unchanged.
func (b *Backend) ReleaseDocument(ctx context.Context, id string) (portal.Document, error) {
	viewer, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return portal.Document{}, err
	}
	s, err := b.documentScope(ctx, viewer)
	if err != nil {
		return portal.Document{}, err
	}
	name := ""
	if r, _, err := b.read(ctx, "Practitioner", viewer.ID); err == nil {
		if p, err := practitionerFrom(r); err == nil {
			name = p.Name
		}
	}
	d, err := b.updateDocument(ctx, s, id, func(d documentRef) bool { return !d.visibleToPatient(b.now()) }, func(d documentRef, res map[string]any) {
		setExtension(res, ExtReleased, "valueDateTime", formatInstant(b.now().In(d.Created.Location())))
		setExtension(res, ExtReleasedBy, "valueReference", referenceJSON{Reference: ref("Practitioner", viewer.ID), Display: name})
	})
	if err != nil {
		return portal.Document{}, err
	}
	return b.portalDoc(ctx, s, d, b.patientNames(ctx, viewer, d.Patient))
}

// maxUpdateAttempts bounds the tries of an update that lost a race (412).
const maxUpdateAttempts = 4

// updateDocument reads document id as s sees it and, if need says so,
// updates it with change under If-Match on the version read, reading it
// again after a 412. It returns the document as it then stands.
func (b *Backend) updateDocument(ctx context.Context, s viewerScope, id string, need func(documentRef) bool, change func(documentRef, map[string]any)) (documentRef, error) {
	for attempt := 1; ; attempt++ {
		d, err := b.one(ctx, s, id)
		if err != nil || !need(d) {
			return d, err
		}
		body, err := edit(d.Raw, func(res map[string]any) { change(d, res) })
		if err != nil {
			return documentRef{}, err
		}
		_, _, _, err = b.write(ctx, request{
			method: http.MethodPut, path: ref("DocumentReference", id), body: body, ifMatch: d.Version, op: opWrite,
		}, "DocumentReference")
		if statusOf(err) == http.StatusPreconditionFailed && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return documentRef{}, err
		}
		return b.one(ctx, s, id)
	}
}

// Results.

// observations returns the observations of the documents the patient sees
// in est, oldest first (then by filing, document and position).
func (b *Backend) observations(ctx context.Context, viewer portal.Author, est string) ([]portal.Observation, *time.Location, error) {
	if !validID(viewer.ID) {
		return nil, nil, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	o, err := b.organization(ctx, est)
	if err != nil {
		return nil, nil, err
	}
	loc := b.location(o.TimeZone)
	docs, _, err := b.documentRefs(ctx, viewerScope{viewer: viewer},
		values("custodian", ref("Organization", est), "subject", ref("Patient", viewer.ID)))
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(docs, func(x, y documentRef) int {
		return cmp.Or(x.Created.Compare(y.Created), strings.Compare(x.ID, y.ID))
	})
	var out []portal.Observation
	for _, d := range docs {
		if d.Establishment != est {
			continue
		}
		for _, o := range d.Observations {
			o.Document, o.Effective = d.ID, o.Effective.In(loc)
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(x, y portal.Observation) int { return x.Effective.Compare(y.Effective) })
	return out, loc, nil
}

// Analytes lists the analytes the context's patient has visible results
// for in an establishment, ordered by French display name, each with its
// latest result.
func (b *Backend) Analytes(ctx context.Context, est string) ([]portal.Analyte, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return nil, err
	}
	obs, _, err := b.observations(ctx, viewer, est)
	if err != nil {
		return nil, err
	}
	return portal.AnalytesOf(obs), nil
}

// Trend returns every visible result of one analyte of the context's
// patient in an establishment, in the unit of the latest one, oldest
// first. No visible result is ErrNotFound.
func (b *Backend) Trend(ctx context.Context, est, code string) (portal.Trend, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Trend{}, err
	}
	if err := portal.ValidateAnalyteCode(code); err != nil {
		return portal.Trend{}, err
	}
	obs, _, err := b.observations(ctx, viewer, est)
	if err != nil {
		return portal.Trend{}, err
	}
	obs = slices.DeleteFunc(obs, func(o portal.Observation) bool { return o.Code != code })
	if len(obs) == 0 {
		return portal.Trend{}, portal.Errorf(portal.ErrNotFound, "no result of analyte %q", code)
	}
	return portal.TrendOf(code, obs), nil
}
