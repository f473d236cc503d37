package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Documents is the documents and results of patients' care
// (portal.Documents) and their filing (portal.DocumentFiling) in a Store's
// database: documents, their files (BLOBs) and the observations of lab
// reports, each document written with its files and observations in one
// transaction.
//
// The release rules are enforced in the queries themselves: every read of a
// patient goes through one condition (patientVisible) that keeps the
// document out unless it is not sensitive, released by a practitioner, or
// past its release_due_utc; a held document is never read for a patient,
// so no code path can leak it.
//
// Get one with Store.Documents; it is safe for concurrent use and lives as
// long as its Store.
type Documents struct {
	s       *Store
	maxSize int64
	delays  map[string]time.Duration // establishment -> release delay of sensitive documents
}

var (
	_ portal.Documents      = (*Documents)(nil)
	_ portal.DocumentFiling = (*Documents)(nil)
)

// DocumentsOption configures a Store's Documents.
type DocumentsOption func(*Documents)

// WithMaxDocumentSize sets the largest file accepted, in bytes, a
// document's own or one of its images (ErrAttachmentTooLarge beyond). The
// default is portal.DefaultMaxDocumentSize (10 MiB); n <= 0 keeps it, and n
// is lowered to 512 MiB, what one SQLite BLOB safely holds.
func WithMaxDocumentSize(n int64) DocumentsOption {
	return func(d *Documents) {
		if n > 0 {
			d.maxSize = min(n, maxBlob)
		}
	}
}

// WithReleaseDelay makes a sensitive document of establishment visible to
// its patient once delay has passed since it was filed, if no practitioner
// released it before (Document.ReleaseDue). Without it (the default), or
// with delay <= 0, only a practitioner of the document's service releases
// it. The delay is the one in force when a document is filed: changing it
// later does not move the due time of documents filed before.
func WithReleaseDelay(establishment string, delay time.Duration) DocumentsOption {
	return func(d *Documents) {
		if delay > 0 {
			d.delays[establishment] = delay
		} else {
			delete(d.delays, establishment)
		}
	}
}

// Documents returns the documents and results of the Store, configured by
// opts.
func (s *Store) Documents(opts ...DocumentsOption) *Documents {
	d := &Documents{s: s, maxSize: portal.DefaultMaxDocumentSize, delays: map[string]time.Duration{}}
	for _, opt := range opts {
		opt(d)
	}
	return d
}

// MaxDocumentSize returns the largest file d accepts, in bytes.
func (d *Documents) MaxDocumentSize() int64 { return d.maxSize }

// Viewers. A read is done for a patient, a practitioner, or the system
// (filing), and every read goes through scope.

// system is the viewer of filing and of the seed: it sees every document.
var system = portal.Author{}

// scope returns the condition on documents d that keeps those viewer may
// see; its parameters are @viewer and @now.
func scope(viewer portal.Author) string {
	switch viewer.Kind {
	case portal.AuthorPatient:
		return `d.patient = @viewer AND ` + patientVisible
	case portal.AuthorPractitioner:
		return `(EXISTS (SELECT 1 FROM service_practitioners sp
			WHERE sp.establishment = d.establishment AND sp.service = d.service AND sp.practitioner = @viewer)
			OR (` + granted + ` AND ` + patientVisible + `))`
	}
	return `1`
}

// granted holds when the document's patient has granted the practitioner
// @viewer access (an active grant, see consent.go): they then see what the
// patient sees, never a held document, and so never release one. It is
// read at every request, so that a revocation takes effect at the next.
const granted = `EXISTS (SELECT 1 FROM grants g
			WHERE g.patient = d.patient AND g.practitioner = @viewer AND g.revoked_utc IS NULL)`

// patientVisible is the release rule, the one condition under which a
// patient sees a document: it is not sensitive, or a practitioner released
// it, or its due time has passed (@now). It is never NULL (the due time
// is tested for NULL first), so that its negation, heldCondition, holds
// exactly when it does not.
const patientVisible = `(d.sensitive = 0 OR d.released_utc IS NOT NULL OR (d.release_due_utc IS NOT NULL AND d.release_due_utc <= @now))`

// heldCondition keeps the documents their patient does not see.
const heldCondition = `NOT ` + patientVisible

// listFilter is the SQL part of a portal.DocumentFilter (Search is applied
// on the rows, see portal.MatchTitle).
const listFilter = `d.establishment = @est AND (@type = '' OR d.type = @type) AND (@service = '' OR d.service = @service)
	AND (@patient = '' OR d.patient = @patient) AND (@held = 0 OR ` + heldCondition + `)`

func listArgs(est string, f portal.DocumentFilter) []any {
	return []any{
		sql.Named("est", est), sql.Named("type", string(f.Type)), sql.Named("service", f.Service),
		sql.Named("patient", f.Patient), sql.Named("held", f.Held),
	}
}

// Lists.

// Documents lists the documents the context's subject may see in an
// establishment, selected by f, the latest date first (then the latest
// filed). An unknown establishment, or an unknown service in f, is an
// ErrNotFound error; an invalid f ErrInvalid; a patient's use of f.Patient
// or f.Held ErrForbidden.
func (d *Documents) Documents(ctx context.Context, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	viewer, err := portal.CheckDocumentFilter(ctx, f)
	if err != nil {
		return nil, err
	}
	return readTx(ctx, d.s, "documents", func(tx *sql.Tx) ([]portal.Document, error) {
		return d.list(ctx, tx, viewer, est, f)
	})
}

func (d *Documents) list(ctx context.Context, tx *sql.Tx, viewer portal.Author, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	if _, err := establishment(ctx, tx, est); err != nil {
		return nil, err
	}
	if f.Service != "" {
		if err := serviceExists(ctx, tx, est, f.Service); err != nil {
			return nil, err
		}
	}
	docs, err := d.read(ctx, tx, viewer, listFilter, listArgs(est, f)...)
	if err != nil || f.Search == "" {
		return docs, err
	}
	return slices.DeleteFunc(docs, func(doc portal.Document) bool { return !portal.MatchTitle(doc.Title, f.Search) }), nil
}

// CountDocuments counts what Documents lists for the same arguments, and
// how many of those are new.
func (d *Documents) CountDocuments(ctx context.Context, est string, f portal.DocumentFilter) (portal.DocumentCount, error) {
	viewer, err := portal.CheckDocumentFilter(ctx, f)
	if err != nil {
		return portal.DocumentCount{}, err
	}
	return readTx(ctx, d.s, "count documents", func(tx *sql.Tx) (portal.DocumentCount, error) {
		docs, err := d.list(ctx, tx, viewer, est, f)
		c := portal.DocumentCount{Total: len(docs)}
		for _, doc := range docs {
			if doc.New {
				c.New++
			}
		}
		return c, err
	})
}

// One document.

// Document returns a document the context's subject may see; any other is
// reported exactly as an unknown one, ErrNotFound.
func (d *Documents) Document(ctx context.Context, id string) (portal.Document, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Document{}, err
	}
	return readTx(ctx, d.s, "document", func(tx *sql.Tx) (portal.Document, error) {
		return d.one(ctx, tx, viewer, id)
	})
}

// one reads a document viewer may see; any other is ErrNotFound.
func (d *Documents) one(ctx context.Context, tx *sql.Tx, viewer portal.Author, id string) (portal.Document, error) {
	docs, err := d.read(ctx, tx, viewer, `d.id = @id`, sql.Named("id", id))
	if err != nil {
		return portal.Document{}, err
	}
	if len(docs) == 0 {
		// The same error for a document viewer may not see (another
		// patient's, a held one) and an unknown one.
		return portal.Document{}, documentNotFound(id)
	}
	return docs[0], nil
}

func documentNotFound(id string) error {
	return portal.Errorf(portal.ErrNotFound, "document %q not found", id)
}

// DocumentContent returns a document the context's subject may see with
// the bytes of its file, checked against the row's size and SHA-256 (a
// mismatch is an ErrInternal error, never other bytes). Any other document
// is ErrNotFound, as an unknown one.
func (d *Documents) DocumentContent(ctx context.Context, id string) (portal.Document, []byte, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Document{}, nil, err
	}
	type result struct {
		doc     portal.Document
		content []byte
	}
	r, err := readTx(ctx, d.s, "document content", func(tx *sql.Tx) (result, error) {
		doc, err := d.one(ctx, tx, viewer, id)
		if err != nil {
			return result{}, err
		}
		var content []byte
		err = tx.QueryRowContext(ctx, `SELECT content FROM document_files WHERE document = ? AND position = 0`, id).Scan(&content)
		return result{doc, content}, err
	})
	if err != nil {
		return portal.Document{}, nil, err
	}
	if err := checkContent(r.content, portal.AttachmentMeta{Size: r.doc.Size, SHA256: r.doc.SHA256}); err != nil {
		return portal.Document{}, nil, portal.Errorf(portal.ErrInternal, "sqlite: document %s: %v", id, err)
	}
	return r.doc, r.content, nil
}

// DocumentImage returns an image of a document the context's subject may
// see, with its bytes. Any other image, and an image asked for with another
// document's id, is reported exactly as an unknown one, ErrNotFound.
func (d *Documents) DocumentImage(ctx context.Context, docID, imageID string) (portal.DocumentImage, []byte, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	type result struct {
		img     portal.DocumentImage
		content []byte
	}
	r, err := readTx(ctx, d.s, "document image", func(tx *sql.Tx) (result, error) {
		r := result{img: portal.DocumentImage{ID: imageID}}
		if _, err := d.one(ctx, tx, viewer, docID); err != nil {
			return r, imageNotFound(docID, imageID)
		}
		i := &r.img
		err := tx.QueryRowContext(ctx, `
			SELECT name, content_type, size, sha256, content FROM document_files
			WHERE id = ? AND document = ? AND position > 0`, imageID, docID).
			Scan(&i.Name, &i.ContentType, &i.Size, &i.SHA256, &r.content)
		if errors.Is(err, sql.ErrNoRows) {
			return r, imageNotFound(docID, imageID)
		}
		return r, err
	})
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	if err := checkContent(r.content, portal.AttachmentMeta{Size: r.img.Size, SHA256: r.img.SHA256}); err != nil {
		return portal.DocumentImage{}, nil, portal.Errorf(portal.ErrInternal, "sqlite: image %s of document %s: %v", imageID, docID, err)
	}
	return r.img, r.content, nil
}

func imageNotFound(docID, imageID string) error {
	return portal.Errorf(portal.ErrNotFound, "image %q of document %q not found", imageID, docID)
}

// MarkDocumentSeen records that the context's patient opened a document
// they see, now: it is no longer new. Opening it again keeps the first
// time. A practitioner is refused (ErrForbidden); any other document is
// ErrNotFound.
func (d *Documents) MarkDocumentSeen(ctx context.Context, id string) error {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return err
	}
	return d.s.write(ctx, "mark document seen", func(tx *sql.Tx) error {
		if _, err := d.one(ctx, tx, viewer, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE documents SET seen_utc = ? WHERE id = ? AND seen_utc IS NULL`,
			d.s.now().Unix(), id)
		return err
	})
}

// ReleaseDocument releases a held document of one of the context's
// practitioner's services, now, in their name, and returns it. A document
// that is not held (not sensitive, released already, or past its due time)
// is returned unchanged. A patient is refused (ErrForbidden); a document of
// another service is ErrNotFound, as an unknown one.
func (d *Documents) ReleaseDocument(ctx context.Context, id string) (portal.Document, error) {
	viewer, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return portal.Document{}, err
	}
	return writeTx(ctx, d.s, "release document", func(tx *sql.Tx) (portal.Document, error) {
		doc, err := d.one(ctx, tx, viewer, id)
		if err != nil || doc.Release != portal.ReleaseHeld {
			return doc, err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE documents SET released_utc = ?, released_by = ? WHERE id = ? AND released_utc IS NULL`,
			d.s.now().Unix(), viewer.ID, id); err != nil {
			return doc, err
		}
		return d.one(ctx, tx, viewer, id)
	})
}

// DocumentEstablishment returns the establishment of a document the
// context's subject may see; any other is ErrNotFound, as an unknown one.
// The host asks it to serve only the documents of the establishments it
// serves.
func (d *Documents) DocumentEstablishment(ctx context.Context, id string) (string, error) {
	doc, err := d.Document(ctx, id)
	return doc.Establishment, err
}

// Results.

// Analytes lists the analytes the context's patient has visible results
// for in an establishment, ordered by French display name, each with its
// latest result. A practitioner is refused (ErrForbidden); an unknown
// establishment is ErrNotFound.
func (d *Documents) Analytes(ctx context.Context, est string) ([]portal.Analyte, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return nil, err
	}
	obs, err := readTx(ctx, d.s, "analytes", func(tx *sql.Tx) ([]portal.Observation, error) {
		if _, err := establishment(ctx, tx, est); err != nil {
			return nil, err
		}
		return d.observations(ctx, tx, viewer, `d.establishment = @est`, sql.Named("est", est))
	})
	if err != nil {
		return nil, err
	}
	return portal.AnalytesOf(obs), nil
}

// Trend returns every visible result of one analyte of the context's
// patient in an establishment, in the unit of the latest one, oldest first
// (see portal.Trend). An analyte without any visible result, like an
// unknown establishment, is ErrNotFound; a malformed code ErrInvalid; a
// practitioner is refused (ErrForbidden).
func (d *Documents) Trend(ctx context.Context, est, code string) (portal.Trend, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Trend{}, err
	}
	if err := portal.ValidateAnalyteCode(code); err != nil {
		return portal.Trend{}, err
	}
	obs, err := readTx(ctx, d.s, "trend", func(tx *sql.Tx) ([]portal.Observation, error) {
		if _, err := establishment(ctx, tx, est); err != nil {
			return nil, err
		}
		return d.observations(ctx, tx, viewer, `d.establishment = @est AND o.code = @code`,
			sql.Named("est", est), sql.Named("code", code))
	})
	if err != nil {
		return portal.Trend{}, err
	}
	if len(obs) == 0 {
		// The same error whether the patient has no result of this
		// analyte, only held ones, or the code means nothing.
		return portal.Trend{}, portal.Errorf(portal.ErrNotFound, "no result of analyte %q", code)
	}
	return portal.TrendOf(code, obs), nil
}

// observations reads the observations of the documents viewer may see that
// match filter (a condition on documents d and observations o with named
// parameters), oldest first.
func (d *Documents) observations(ctx context.Context, tx *sql.Tx, viewer portal.Author, filter string, args ...any) ([]portal.Observation, error) {
	args = append(args, sql.Named("viewer", viewer.ID), sql.Named("now", d.s.now().Unix()))
	out := []portal.Observation{}
	err := query(ctx, tx, `
		SELECT `+observationColumns+`, e.time_zone
		FROM observations o JOIN documents d ON d.id = o.document JOIN establishments e ON e.id = d.establishment
		WHERE (`+filter+`) AND `+scope(viewer)+`
		ORDER BY o.effective_utc, d.created_utc, d.id, o.position`, args, func(rows *sql.Rows) error {
		o, err := d.scanObservation(rows)
		if err == nil {
			out = append(out, o)
		}
		return err
	})
	return out, err
}

const observationColumns = `o.id, o.document, o.code, o.display_fr, o.display_en, o.value, o.decimals, o.unit, o.low, o.high, o.effective_utc`

// scanObservation scans observationColumns and a time zone.
func (d *Documents) scanObservation(rows *sql.Rows) (portal.Observation, error) {
	var o portal.Observation
	var low, high sql.NullFloat64
	var effective int64
	var tz string
	if err := rows.Scan(&o.ID, &o.Document, &o.Code, &o.Display.FR, &o.Display.EN, &o.Value, &o.Decimals, &o.Unit,
		&low, &high, &effective, &tz); err != nil {
		return o, err
	}
	loc, err := d.s.location(tz)
	if err != nil {
		return o, err
	}
	if low.Valid {
		o.Low = &low.Float64
	}
	if high.Valid {
		o.High = &high.Float64
	}
	o.Interpretation = portal.Interpret(o.Value, o.Low, o.High)
	o.Effective = fromUnix(effective, loc)
	return o, nil
}

// Uploads.

// UploadDocument stores a document of the context's patient for the care
// team of u.Service, in one transaction.
//
// An invalid upload is refused first (see portal.NewUpload.Validate: a
// file that is not a PDF, JPEG or PNG by its content, or whose name does
// not fit it, is ErrAttachmentRejected; one over the limit
// ErrAttachmentTooLarge). A u.ClientID this patient already used returns the
// document uploaded then if the request is the same (same establishment,
// service, title and file), and is an ErrIdempotencyKeyReused error
// otherwise. Then an unknown establishment or service is ErrNotFound, and a
// service the patient has no link with ErrServiceNotLinked: a link is one of
// portal.Messaging's, or a document of that service the patient sees (a
// held one does not count, so that an upload never tells of it). A
// practitioner is refused (ErrForbidden). A refused upload stores nothing.
func (d *Documents) UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Document{}, err
	}
	if err := u.Validate(d.maxSize); err != nil {
		return portal.Document{}, err
	}
	sum := digest(u.File.Content)
	hash := fieldsDigest("upload/v1", []string{u.Establishment, u.Service, u.Title, u.File.Name, u.File.ContentType, sum})
	return writeTx(ctx, d.s, "upload document", func(tx *sql.Tx) (portal.Document, error) {
		var id, prev string
		err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM documents WHERE patient = ? AND client_id = ?`,
			viewer.ID, u.ClientID).Scan(&id, &prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = d.upload(ctx, tx, viewer, u, hash, sum)
		case err == nil && prev != hash:
			err = portal.Errorf(portal.ErrIdempotencyKeyReused, "client id already used by document %s for another upload", id)
		}
		if err != nil {
			return portal.Document{}, err
		}
		return d.one(ctx, tx, viewer, id)
	})
}

func (d *Documents) upload(ctx context.Context, tx *sql.Tx, patient portal.Author, u portal.NewUpload, hash, sum string) (string, error) {
	if _, err := establishment(ctx, tx, u.Establishment); err != nil {
		return "", err
	}
	if err := serviceExists(ctx, tx, u.Establishment, u.Service); err != nil {
		return "", err
	}
	var linked bool
	if err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM appointments
				WHERE patient = @viewer AND establishment = @est AND service = @service AND status = 'booked')
			OR EXISTS (SELECT 1 FROM threads
				WHERE patient = @viewer AND establishment = @est AND service = @service)
			OR EXISTS (SELECT 1 FROM questionnaire_submissions
				WHERE patient = @viewer AND establishment = @est AND service = @service)
			OR EXISTS (SELECT 1 FROM documents d
				WHERE d.establishment = @est AND d.service = @service AND `+scope(patient)+`)`,
		sql.Named("viewer", patient.ID), sql.Named("est", u.Establishment), sql.Named("service", u.Service),
		sql.Named("now", d.s.now().Unix())).Scan(&linked); err != nil {
		return "", err
	}
	if !linked {
		return "", portal.Errorf(portal.ErrServiceNotLinked, "patient has no link with service %q of establishment %q", u.Service, u.Establishment)
	}
	name, err := authorName(ctx, tx, patient)
	if err != nil {
		return "", err
	}
	now := d.s.now().Unix()
	row := documentRow{
		id: newID("doc_"), establishment: u.Establishment, service: u.Service, patient: patient.ID,
		typ: portal.DocPatientDocument, title: u.Title, date: now, author: name, origin: portal.OriginPatient,
		clientID: u.ClientID, hash: hash, created: now, seen: &now,
		files: []fileRow{{name: u.File.Name, contentType: u.File.ContentType, content: u.File.Content, sum: sum}},
	}
	return row.id, insertDocument(ctx, tx, row)
}

// Filing.

// FileDocument files a document for nd.Patient, with its files and
// observations, in one transaction, and returns it as the care team sees
// it. A sensitive document of an establishment with a release delay (see
// WithReleaseDelay) is due for release that delay after now.
//
// An invalid document is refused first (see portal.NewDocument.Validate).
// A SourceID already filed in the establishment returns the document filed
// then if the request is the same, and is an ErrIdempotencyKeyReused error
// otherwise. An unknown establishment or service is ErrNotFound. The
// context's subject, if any, plays no part: filing is the establishment's
// systems' business, never a route of the host.
func (d *Documents) FileDocument(ctx context.Context, nd portal.NewDocument) (portal.Document, error) {
	if err := nd.Validate(d.maxSize); err != nil {
		return portal.Document{}, err
	}
	row := filingRow(nd)
	return writeTx(ctx, d.s, "file document", func(tx *sql.Tx) (portal.Document, error) {
		var id, prev string
		err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM documents WHERE establishment = ? AND source_id = ?`,
			nd.Establishment, nd.SourceID).Scan(&id, &prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = d.file(ctx, tx, row)
		case err == nil && prev != row.hash:
			err = portal.Errorf(portal.ErrIdempotencyKeyReused, "source id already used by document %s for another document", id)
		}
		if err != nil {
			return portal.Document{}, err
		}
		return d.one(ctx, tx, system, id)
	})
}

// file inserts a filed document, filed now, and returns its id.
func (d *Documents) file(ctx context.Context, tx *sql.Tx, row documentRow) (string, error) {
	if _, err := establishment(ctx, tx, row.establishment); err != nil {
		return "", err
	}
	if err := serviceExists(ctx, tx, row.establishment, row.service); err != nil {
		return "", err
	}
	now := d.s.now()
	row.id, row.created = newID("doc_"), now.Unix()
	if delay, ok := d.delays[row.establishment]; ok && row.sensitive {
		due := unixCeil(now.Add(delay))
		row.releaseDue = &due
	}
	return row.id, insertDocument(ctx, tx, row)
}

// documentRow is a document as inserted, with its files (the document's
// own first) and observations.
type documentRow struct {
	id, establishment, service, patient string
	typ                                 portal.DocumentType
	title, author                       string
	origin                              portal.Origin
	date, created                       int64
	sourceID, clientID, hash            string
	sensitive                           bool
	releaseDue, seen                    *int64
	files                               []fileRow
	observations                        []portal.NewObservation
}

type fileRow struct {
	name, contentType, sum string
	content                []byte
}

// filingRow is the row of a filed document, but for its id, its creation
// and its due time; hash is the digest of everything nd asks for.
func filingRow(nd portal.NewDocument) documentRow {
	files := []fileRow{{name: nd.File.Name, contentType: nd.File.ContentType, content: nd.File.Content, sum: digest(nd.File.Content)}}
	for _, img := range nd.Images {
		files = append(files, fileRow{name: img.Name, contentType: img.ContentType, content: img.Content, sum: digest(img.Content)})
	}
	fields := []string{nd.Establishment, nd.Service, nd.Patient, string(nd.Type), nd.Title,
		strconv.FormatInt(nd.Date.Unix(), 10), nd.Author, strconv.FormatBool(nd.Sensitive)}
	for _, f := range files {
		fields = append(fields, f.name, f.contentType, f.sum)
	}
	for _, o := range nd.Observations {
		fields = append(fields, o.Code, o.Display.FR, o.Display.EN, strconv.FormatFloat(o.Value, 'g', -1, 64),
			strconv.Itoa(o.Decimals), o.Unit, bound(o.Low), bound(o.High), strconv.FormatInt(o.Effective.Unix(), 10))
	}
	return documentRow{
		establishment: nd.Establishment, service: nd.Service, patient: nd.Patient, typ: nd.Type,
		title: nd.Title, author: nd.Author, origin: portal.OriginCareTeam, date: nd.Date.Unix(),
		sourceID: nd.SourceID, sensitive: nd.Sensitive, files: files, observations: nd.Observations,
		hash: fieldsDigest(fmt.Sprintf("document/v1/%d/%d", len(files), len(nd.Observations)), fields),
	}
}

func bound(b *float64) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatFloat(*b, 'g', -1, 64)
}

// insertDocument inserts row with its files and observations.
func insertDocument(ctx context.Context, tx *sql.Tx, row documentRow) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO documents (id, establishment, service, patient, type, title, date_utc, author, origin,
			source_id, client_id, request_hash, sensitive, release_due_utc, seen_utc, created_utc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		row.id, row.establishment, row.service, row.patient, row.typ, row.title, row.date, row.author, row.origin,
		nullString(row.sourceID), nullString(row.clientID), row.hash, row.sensitive, row.releaseDue, row.seen, row.created); err != nil {
		return err
	}
	for i, f := range row.files {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO document_files (id, document, position, name, content_type, size, sha256, content)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			newID("dfl_"), row.id, i, f.name, f.contentType, len(f.content), f.sum, f.content); err != nil {
			return err
		}
	}
	for i, o := range row.observations {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO observations (id, document, position, code, display_fr, display_en, value, decimals, unit,
				low, high, effective_utc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			newID("obs_"), row.id, i, o.Code, o.Display.FR, o.Display.EN, o.Value, o.Decimals, o.Unit,
			o.Low, o.High, o.Effective.Unix()); err != nil {
			return err
		}
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// digest returns the lower-case hex SHA-256 of b.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Reading documents.

// read reads the documents viewer may see that match filter (a condition on
// documents d with named parameters), the latest date first, with their
// images and observations, times in their establishment's time zone.
func (d *Documents) read(ctx context.Context, tx *sql.Tx, viewer portal.Author, filter string, args ...any) ([]portal.Document, error) {
	now := d.s.now()
	args = append(args, sql.Named("viewer", viewer.ID), sql.Named("now", now.Unix()))
	where := `(` + filter + `) AND ` + scope(viewer)
	out := []portal.Document{}
	index := map[string]int{}
	err := query(ctx, tx, `
		SELECT d.id, d.establishment, d.service, d.patient, p.given_name, p.family_name, d.type, d.title, d.date_utc,
			d.author, d.origin, d.sensitive, d.release_due_utc, d.released_utc, COALESCE(d.released_by, ''),
			COALESCE(pr.name, ''), d.seen_utc IS NULL, d.created_utc, e.time_zone,
			f.name, f.content_type, f.size, f.sha256
		FROM documents d JOIN establishments e ON e.id = d.establishment
		JOIN document_files f ON f.document = d.id AND f.position = 0
		LEFT JOIN patients p ON p.id = d.patient
		LEFT JOIN practitioners pr ON pr.id = d.released_by
		WHERE `+where+`
		ORDER BY d.date_utc DESC, d.created_utc DESC, d.id`, args, func(rows *sql.Rows) error {
		var doc portal.Document
		var given, family sql.NullString
		var date, created int64
		var due, released sql.NullInt64
		var releasedBy, releasedName, tz string
		if err := rows.Scan(&doc.ID, &doc.Establishment, &doc.Service, &doc.Patient, &given, &family, &doc.Type,
			&doc.Title, &date, &doc.Author, &doc.Origin, &doc.Sensitive, &due, &released, &releasedBy, &releasedName,
			&doc.New, &created, &tz, &doc.FileName, &doc.ContentType, &doc.Size, &doc.SHA256); err != nil {
			return err
		}
		loc, err := d.s.location(tz)
		if err != nil {
			return err
		}
		if given.Valid && viewer.Kind != portal.AuthorPatient {
			doc.PatientName = portal.Patient{GivenName: given.String, FamilyName: family.String}.DisplayName()
		}
		doc.Date, doc.Created = fromUnix(date, loc), fromUnix(created, loc)
		doc.Release = portal.ReleaseNotRequired
		if doc.Sensitive {
			doc.Release = portal.ReleaseHeld
			if due.Valid {
				t := fromUnix(due.Int64, loc)
				doc.ReleaseDue = &t
			}
			switch {
			case released.Valid:
				t := fromUnix(released.Int64, loc)
				doc.Release, doc.Released = portal.ReleaseReleased, &t
				doc.ReleasedBy = &portal.Author{Kind: portal.AuthorPractitioner, ID: releasedBy, Name: releasedName}
			case due.Valid && due.Int64 <= now.Unix():
				doc.Release, doc.Released = portal.ReleaseReleased, doc.ReleaseDue
			}
		}
		doc.Images, doc.Observations = []portal.DocumentImage{}, []portal.Observation{}
		index[doc.ID] = len(out)
		out = append(out, doc)
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	// The images and observations of the same documents: the same
	// condition, in the same transaction.
	err = query(ctx, tx, `
		SELECT f.document, f.id, f.name, f.content_type, f.size, f.sha256
		FROM document_files f JOIN documents d ON d.id = f.document
		WHERE f.position > 0 AND `+where+` ORDER BY f.document, f.position`, args, func(rows *sql.Rows) error {
		var docID string
		var img portal.DocumentImage
		if err := rows.Scan(&docID, &img.ID, &img.Name, &img.ContentType, &img.Size, &img.SHA256); err != nil {
			return err
		}
		if i, ok := index[docID]; ok {
			out[i].Images = append(out[i].Images, img)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = query(ctx, tx, `
		SELECT `+observationColumns+`, e.time_zone
		FROM observations o JOIN documents d ON d.id = o.document JOIN establishments e ON e.id = d.establishment
		WHERE `+where+` ORDER BY o.document, o.position`, args, func(rows *sql.Rows) error {
		o, err := d.scanObservation(rows)
		if err != nil {
			return err
		}
		if i, ok := index[o.Document]; ok {
			out[i].Observations = append(out[i].Observations, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
