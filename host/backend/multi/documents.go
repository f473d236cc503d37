package multi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// DocumentsEstablishment is one establishment's documents backend.
type DocumentsEstablishment struct {
	ID        string
	Documents portal.Documents
}

// Documents routes portal.Documents by establishment: calls that name one
// go to its backend, and a document's id carries its establishment
// ("ch-nord~doc-1", as appointment ids do), so that reading, opening,
// downloading or releasing it reaches its own backend only.
type Documents struct {
	byID    map[string]portal.Documents
	order   []string
	calls   bounds
	uploads bounds
}

var _ portal.Documents = (*Documents)(nil)

// NewDocuments returns the router over ests (ids as New requires). Each
// call is bounded by callTimeout (0: DefaultCallTimeout), an upload or a
// filing by four times that (it carries a file).
func NewDocuments(ests []DocumentsEstablishment, callTimeout time.Duration) (*Documents, error) {
	calls := newBounds(callTimeout)
	d := &Documents{byID: map[string]portal.Documents{}, calls: calls, uploads: newBounds(4 * calls.timeout)}
	for _, e := range ests {
		if err := checkEntry(e.ID, d.byID[e.ID] != nil, e.Documents != nil, "documents "); err != nil {
			return nil, err
		}
		d.byID[e.ID] = e.Documents
		d.order = append(d.order, e.ID)
	}
	if len(d.order) == 0 {
		return nil, fmt.Errorf("multi: no establishment")
	}
	return d, nil
}

// MaxDocumentSize is the smallest limit of the backends: an upload the
// host accepts fits every one.
func (d *Documents) MaxDocumentSize() int64 {
	limit := int64(0)
	for _, id := range d.order {
		n := int64(portal.DefaultMaxDocumentSize)
		if s, ok := d.byID[id].(interface{ MaxDocumentSize() int64 }); ok && s.MaxDocumentSize() > 0 {
			n = s.MaxDocumentSize()
		}
		if limit == 0 || n < limit {
			limit = n
		}
	}
	return limit
}

func (d *Documents) route(est string) (portal.Documents, error) {
	if b := d.byID[est]; b != nil {
		return b, nil
	}
	return nil, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
}

// byDocument checks the subject (signed in, and of side when side is set:
// as the backends do, before looking the id up), then splits an id of this
// router; an id of another shape is unknown, exactly as a document that
// does not exist.
func (d *Documents) byDocument(ctx context.Context, id string, side portal.AuthorKind) (string, portal.Documents, string, error) {
	a, err := portal.RequireAuthor(ctx)
	if err != nil {
		return "", nil, "", err
	}
	if side != "" && a.Kind != side {
		return "", nil, "", portal.Errorf(portal.ErrForbidden, "only a %s may do this", side)
	}
	est, inner, ok := strings.Cut(id, Separator)
	if ok && inner != "" {
		if b := d.byID[est]; b != nil {
			return est, b, inner, nil
		}
	}
	return "", nil, "", portal.Errorf(portal.ErrNotFound, "document %q", id)
}

// outward gives a backend's document (and its observations) ids of this
// router.
func outward(est string, doc portal.Document) portal.Document {
	if doc.ID == "" {
		return doc
	}
	doc.ID = est + Separator + doc.ID
	obs := make([]portal.Observation, len(doc.Observations))
	for i, o := range doc.Observations {
		o.Document = doc.ID
		obs[i] = o
	}
	if doc.Observations != nil {
		doc.Observations = obs
	}
	return doc
}

func outwardAll(est string, docs []portal.Document) []portal.Document {
	for i := range docs {
		docs[i] = outward(est, docs[i])
	}
	return docs
}

// Documents implements portal.Documents.
func (d *Documents) Documents(ctx context.Context, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	b, err := d.route(est)
	if err != nil {
		return nil, err
	}
	ctx, done := d.calls.start(ctx)
	docs, err := b.Documents(ctx, est, f)
	return outwardAll(est, docs), done(est, err)
}

// CountDocuments implements portal.Documents.
func (d *Documents) CountDocuments(ctx context.Context, est string, f portal.DocumentFilter) (portal.DocumentCount, error) {
	b, err := d.route(est)
	if err != nil {
		return portal.DocumentCount{}, err
	}
	ctx, done := d.calls.start(ctx)
	n, err := b.CountDocuments(ctx, est, f)
	return n, done(est, err)
}

// Document implements portal.Documents.
func (d *Documents) Document(ctx context.Context, id string) (portal.Document, error) {
	est, b, inner, err := d.byDocument(ctx, id, "")
	if err != nil {
		return portal.Document{}, err
	}
	ctx, done := d.calls.start(ctx)
	doc, err := b.Document(ctx, inner)
	return outward(est, doc), done(est, err)
}

// DocumentContent implements portal.Documents.
func (d *Documents) DocumentContent(ctx context.Context, id string) (portal.Document, []byte, error) {
	est, b, inner, err := d.byDocument(ctx, id, "")
	if err != nil {
		return portal.Document{}, nil, err
	}
	ctx, done := d.uploads.start(ctx)
	doc, data, err := b.DocumentContent(ctx, inner)
	return outward(est, doc), data, done(est, err)
}

// DocumentImage implements portal.Documents.
func (d *Documents) DocumentImage(ctx context.Context, id, image string) (portal.DocumentImage, []byte, error) {
	est, b, inner, err := d.byDocument(ctx, id, "")
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	ctx, done := d.uploads.start(ctx)
	img, data, err := b.DocumentImage(ctx, inner, image)
	return img, data, done(est, err)
}

// MarkDocumentSeen implements portal.Documents.
func (d *Documents) MarkDocumentSeen(ctx context.Context, id string) error {
	est, b, inner, err := d.byDocument(ctx, id, portal.AuthorPatient)
	if err != nil {
		return err
	}
	ctx, done := d.calls.start(ctx)
	return done(est, b.MarkDocumentSeen(ctx, inner))
}

// ReleaseDocument implements portal.Documents.
func (d *Documents) ReleaseDocument(ctx context.Context, id string) (portal.Document, error) {
	est, b, inner, err := d.byDocument(ctx, id, portal.AuthorPractitioner)
	if err != nil {
		return portal.Document{}, err
	}
	ctx, done := d.calls.start(ctx)
	doc, err := b.ReleaseDocument(ctx, inner)
	return outward(est, doc), done(est, err)
}

// Analytes implements portal.Documents.
func (d *Documents) Analytes(ctx context.Context, est string) ([]portal.Analyte, error) {
	b, err := d.route(est)
	if err != nil {
		return nil, err
	}
	ctx, done := d.calls.start(ctx)
	list, err := b.Analytes(ctx, est)
	err = done(est, err)
	for i := range list {
		list[i].Latest = outwardObservation(est, list[i].Latest)
	}
	return list, err
}

// Trend implements portal.Documents.
func (d *Documents) Trend(ctx context.Context, est, code string) (portal.Trend, error) {
	b, err := d.route(est)
	if err != nil {
		return portal.Trend{}, err
	}
	ctx, done := d.calls.start(ctx)
	t, err := b.Trend(ctx, est, code)
	err = done(est, err)
	for i := range t.Points {
		t.Points[i] = outwardObservation(est, t.Points[i])
	}
	return t, err
}

func outwardObservation(est string, o portal.Observation) portal.Observation {
	if o.Document != "" {
		o.Document = est + Separator + o.Document
	}
	return o
}

// UploadDocument implements portal.Documents.
func (d *Documents) UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error) {
	b, err := d.route(u.Establishment)
	if err != nil {
		return portal.Document{}, err
	}
	ctx, done := d.uploads.start(ctx)
	doc, err := b.UploadDocument(ctx, u)
	return outward(u.Establishment, doc), done(u.Establishment, err)
}

// FileDocument implements portal.DocumentFiling when the establishment's
// backend does (the SQLite store, the FHIR backend).
func (d *Documents) FileDocument(ctx context.Context, nd portal.NewDocument) (portal.Document, error) {
	b, err := d.route(nd.Establishment)
	if err != nil {
		return portal.Document{}, err
	}
	f, ok := b.(portal.DocumentFiling)
	if !ok {
		return portal.Document{}, portal.Errorf(portal.ErrMethodNotAllowed, "establishment %q takes no filing", nd.Establishment)
	}
	ctx, done := d.uploads.start(ctx)
	doc, err := f.FileDocument(ctx, nd)
	return outward(nd.Establishment, doc), done(nd.Establishment, err)
}
