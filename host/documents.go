package host

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// The documents API: the documents and results of patients' care
// (portal.Documents) for patients, and for the care teams who release the
// results held back until the announcement consultation.
//
// The store enforces who sees what: a patient their own documents that are
// visible to them, a practitioner the documents of their services; anything
// else, a held document included, is not_found as an unknown id. The host
// adds the session, the sides (a route of one side refuses the other before
// anything is looked up), the body limit of an upload, the status of a
// retried upload (201 new, 200 retry), the download headers, and keeps to
// the establishments it serves: a document of another establishment of the
// store answers not_found too, as an unknown id, on every route.

// documentBodyOverhead is what an upload request holds besides its file's
// bytes: a title, names and field names.
const documentBodyOverhead = 16 << 10

// DefaultUploadsPerHour is Config.UploadsPerHour's default.
const DefaultUploadsPerHour = 20

// maxDocumentSize is the largest file d accepts: its MaxDocumentSize() when
// it has that method, else portal.DefaultMaxDocumentSize.
func maxDocumentSize(d portal.Documents) int64 {
	if s, ok := d.(interface{ MaxDocumentSize() int64 }); ok && s.MaxDocumentSize() > 0 {
		return s.MaxDocumentSize()
	}
	return portal.DefaultMaxDocumentSize
}

// documentBodyLimit bounds the JSON body of an upload whose file is at most
// maxSize bytes: the file in base64 (4 bytes for every 3) and
// documentBodyOverhead. With the default 10 MiB, about 14 MB.
func documentBodyLimit(maxSize int64) int64 {
	return (maxSize+2)/3*4 + documentBodyOverhead
}

// documentsSide returns Config.Documents (not_found when the host has
// none) and the session's person (unauthenticated without one); with kind,
// the other side is forbidden.
func (h *Host) documentsSide(r *http.Request, kind portal.AuthorKind) (portal.Documents, portal.Author, error) {
	if h.cfg.Documents == nil {
		return nil, portal.Author{}, portal.Errorf(portal.ErrNotFound, "no documents store is configured")
	}
	a, err := portal.RequireAuthor(r.Context())
	if err == nil && kind != "" && a.Kind != kind {
		err = portal.Errorf(portal.ErrForbidden, "a %s may not %s %s", a.Kind, r.Method, r.Pattern)
	}
	return h.cfg.Documents, a, err
}

// servedDocument returns a document the subject may see, of an
// establishment this host serves; any other answers as an unknown document.
func (h *Host) servedDocument(ctx context.Context, d portal.Documents, id string) (portal.Document, error) {
	doc, err := d.Document(ctx, id)
	if err == nil && !h.serves(doc.Establishment) {
		err = portal.Errorf(portal.ErrNotFound, "document %q of an establishment this host does not serve", id)
	}
	return doc, err
}

// documentRoute returns the store and the path's document, which the
// session's person (of side, "" for both) may see.
func (h *Host) documentRoute(r *http.Request, side portal.AuthorKind) (portal.Documents, portal.Document, error) {
	d, _, err := h.documentsSide(r, side)
	if err != nil {
		return nil, portal.Document{}, err
	}
	doc, err := h.servedDocument(r.Context(), d, r.PathValue("id"))
	if err == nil {
		auditNote(r.Context(), doc.Patient, "")
	}
	return d, doc, err
}

// parseDocumentFilter reads a documents filter from a query string: type,
// q (the title search), service, patient and held ("true" or "false"),
// each at most once, and lang; anything else is invalid_request.
func parseDocumentFilter(v url.Values) (portal.DocumentFilter, error) {
	var f portal.DocumentFilter
	for k, vs := range v {
		switch k {
		case "type", "q", "service", "patient", "held", "lang":
			if len(vs) > 1 {
				return f, portal.Errorf(portal.ErrInvalid, "%s is given more than once", k)
			}
		default:
			return f, portal.Errorf(portal.ErrInvalid, "unknown parameter %q", k)
		}
	}
	f = portal.DocumentFilter{
		Type: portal.DocumentType(v.Get("type")), Search: v.Get("q"), Service: v.Get("service"), Patient: v.Get("patient"),
	}
	switch v.Get("held") {
	case "", "false":
	case "true":
		f.Held = true
	default:
		return f, portal.Errorf(portal.ErrInvalid, "held is true or false")
	}
	return f, f.Validate()
}

// listRoute reads the path's establishment and the query's filter for a
// list or a count.
func (h *Host) listRoute(r *http.Request) (portal.Documents, string, portal.DocumentFilter, error) {
	d, _, err := h.documentsSide(r, "")
	if err != nil {
		return nil, "", portal.DocumentFilter{}, err
	}
	est, err := h.establishment(r)
	if err != nil {
		return nil, "", portal.DocumentFilter{}, err
	}
	f, err := parseDocumentFilter(r.URL.Query())
	return d, est, f, err
}

func (h *Host) listDocuments(w http.ResponseWriter, r *http.Request) error {
	d, est, f, err := h.listRoute(r)
	if err != nil {
		return err
	}
	list, err := d.Documents(r.Context(), est, f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []portal.Document{}
	}
	writeJSON(w, http.StatusOK, client.DocumentList{Documents: list})
	return nil
}

func (h *Host) countDocuments(w http.ResponseWriter, r *http.Request) error {
	d, est, f, err := h.listRoute(r)
	if err != nil {
		return err
	}
	c, err := d.CountDocuments(r.Context(), est, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (h *Host) getDocument(w http.ResponseWriter, r *http.Request) error {
	_, doc, err := h.documentRoute(r, "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// getDocumentContent downloads a document's file (see writeFile).
func (h *Host) getDocumentContent(w http.ResponseWriter, r *http.Request) error {
	inline, err := parseDisposition(r.URL.Query())
	if err != nil {
		return err
	}
	d, doc, err := h.documentRoute(r, "")
	if err != nil {
		return err
	}
	doc, data, err := d.DocumentContent(r.Context(), doc.ID)
	if err != nil {
		return err
	}
	h.writeFile(w, doc.Establishment, doc.FileName, doc.ContentType, inline, data)
	return nil
}

// getDocumentImage downloads an image of a document (see writeFile).
func (h *Host) getDocumentImage(w http.ResponseWriter, r *http.Request) error {
	inline, err := parseDisposition(r.URL.Query())
	if err != nil {
		return err
	}
	d, doc, err := h.documentRoute(r, "")
	if err != nil {
		return err
	}
	img, data, err := d.DocumentImage(r.Context(), doc.ID, r.PathValue("image"))
	if err != nil {
		return err
	}
	h.writeFile(w, doc.Establishment, img.Name, img.ContentType, inline, data)
	return nil
}

// parseDisposition reads a download's query: disposition "attachment" (the
// default) or "inline", and lang.
func parseDisposition(v url.Values) (inline bool, err error) {
	for k, vs := range v {
		if (k != "disposition" && k != "lang") || len(vs) > 1 {
			return false, portal.Errorf(portal.ErrInvalid, "a download takes disposition and lang, once each; not %q", k)
		}
	}
	switch v.Get("disposition") {
	case "", "attachment":
		return false, nil
	case "inline":
		return true, nil
	}
	return false, portal.Errorf(portal.ErrInvalid, "disposition is attachment or inline")
}

// File download policies. A file is never rendered as an active document
// of the host's origin: its type is the one found from its bytes
// (nosniff), and its CSP sandboxes it (a unique origin, no script, no form,
// no plugin but the browser's own PDF viewer) and forbids fetching anything
// but itself and inline styles. As a download (attachment) it may not be
// framed. Shown in the widget (inline), it may be framed by the host's own
// pages and the establishment's embedding pages, which are its frame's
// ancestors. PDFs are sandboxed too: Chromium (checked with 156) renders a
// PDF served with a sandboxing CSP in its viewer, inside an iframe, as long
// as the iframe element itself has no sandbox attribute (which does block
// the viewer: "This page has been blocked by Chromium").
const (
	attachmentCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
	inlineCSP     = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)

// fileCSP returns the Content-Security-Policy of a file download.
func (h *Host) fileCSP(establishment string, inline bool) string {
	if !inline {
		return attachmentCSP
	}
	csp := inlineCSP + "; frame-ancestors 'self'"
	if o := h.origins[establishment]; len(o) > 0 {
		csp += " " + strings.Join(o, " ")
	}
	return csp
}

// writeFile answers a file: its bytes with the type found from them,
// Content-Disposition (attachment, or inline for the widget's viewer; RFC
// 6266, the name in filename*), X-Content-Type-Options nosniff, the CSP of
// fileCSP and Cache-Control no-store.
func (h *Host) writeFile(w http.ResponseWriter, establishment, name, contentType string, inline bool, data []byte) {
	disposition := contentDisposition(name)
	if inline {
		disposition = "inline" + strings.TrimPrefix(disposition, "attachment")
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Disposition", disposition)
	hd.Set("Content-Security-Policy", h.fileCSP(establishment, inline))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

func (h *Host) markDocumentSeen(w http.ResponseWriter, r *http.Request) error {
	d, doc, err := h.documentRoute(r, portal.AuthorPatient)
	if err == nil {
		err = h.readEmptyBody(r)
	}
	if err == nil {
		err = d.MarkDocumentSeen(r.Context(), doc.ID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Host) releaseDocument(w http.ResponseWriter, r *http.Request) error {
	d, doc, err := h.documentRoute(r, portal.AuthorPractitioner)
	if err == nil {
		err = h.readEmptyBody(r)
	}
	if err != nil {
		return err
	}
	rel, err := h.release(r.Context(), d, doc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}

// release releases doc, which the session's practitioner may see: the
// API's and the documents widget's form post alike.
func (h *Host) release(ctx context.Context, d portal.Documents, doc portal.Document) (portal.Document, error) {
	rel, err := d.ReleaseDocument(ctx, doc.ID)
	if err != nil {
		return portal.Document{}, err
	}
	if doc.Release == portal.ReleaseHeld && rel.Release == portal.ReleaseReleased {
		h.log.InfoContext(ctx, "document released", "document", rel.ID, "establishment", rel.Establishment, "service", rel.Service)
	}
	return rel, nil
}

func (h *Host) listAnalytes(w http.ResponseWriter, r *http.Request) error {
	d, _, err := h.documentsSide(r, portal.AuthorPatient)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	if err := noQuery(r.URL.Query()); err != nil {
		return err
	}
	list, err := d.Analytes(r.Context(), est)
	if err != nil {
		return err
	}
	if list == nil {
		list = []portal.Analyte{}
	}
	writeJSON(w, http.StatusOK, client.AnalyteList{Analytes: list})
	return nil
}

func (h *Host) getTrend(w http.ResponseWriter, r *http.Request) error {
	d, _, err := h.documentsSide(r, portal.AuthorPatient)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	if err := noQuery(r.URL.Query()); err != nil {
		return err
	}
	tr, err := d.Trend(r.Context(), est, r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tr)
	return nil
}

// noQuery accepts only lang in a query string.
func noQuery(v url.Values) error {
	for k, vs := range v {
		if k != "lang" || len(vs) > 1 {
			return portal.Errorf(portal.ErrInvalid, "unknown parameter %q", k)
		}
	}
	return nil
}

// uploadDocument stores a document of the signed-in patient: 201 with the
// document when this request stored it, 200 for a retry of one stored
// before (same client_id, same request).
func (h *Host) uploadDocument(w http.ResponseWriter, r *http.Request) error {
	d, who, err := h.documentsSide(r, portal.AuthorPatient)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	if err := h.spendUpload(r.Context(), who); err != nil {
		return err
	}
	allowSlowBody(w, h.documentLimit)
	body, err := decodeJSON[client.UploadBody](r, h.documentLimit)
	if err != nil {
		return err
	}
	doc, created, err := h.upload(r.Context(), d, who, portal.NewUpload{
		Establishment: est, Service: body.Service, Title: body.Title, ClientID: body.ClientID,
		File: portal.NewFile{Name: body.File.Name, ContentType: body.File.ContentType, Content: body.File.Data},
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/documents/"+url.PathEscape(doc.ID))
	if !created {
		writeJSON(w, http.StatusOK, doc)
		return nil
	}
	writeJSON(w, http.StatusCreated, doc)
	return nil
}

// spendUpload takes one of the patient's upload tokens and one of their
// address's write tokens, or returns a rate_limited error.
func (h *Host) spendUpload(ctx context.Context, who portal.Author) error {
	if err := h.uploadRate.spend(ctx, rateKey(who), "patient %s uploaded %d documents in the last hour", who.ID, h.cfg.UploadsPerHour); err != nil {
		return err
	}
	return h.spendAddress(ctx)
}

// upload stores a patient's document (its token spent: spendUpload), the
// API's and the documents widget's form post alike. It reports whether the
// document is new: a retry of the same client id answers the one stored
// before, and gives the token back.
func (h *Host) upload(ctx context.Context, d portal.Documents, who portal.Author, u portal.NewUpload) (portal.Document, bool, error) {
	// A retry answers the document it stored: known before, it is a replay.
	before, err := d.Documents(ctx, u.Establishment, portal.DocumentFilter{Type: portal.DocPatientDocument})
	if err != nil {
		return portal.Document{}, false, err
	}
	doc, err := d.UploadDocument(ctx, u)
	if err != nil {
		return portal.Document{}, false, err
	}
	if slices.ContainsFunc(before, func(x portal.Document) bool { return x.ID == doc.ID }) {
		if err := h.uploadRate.refund(ctx, rateKey(who)); err != nil {
			h.log.WarnContext(ctx, "upload token not given back", "err", err)
		}
		return doc, false, nil
	}
	h.log.InfoContext(ctx, "document uploaded", "document", doc.ID, "establishment", doc.Establishment, "service", doc.Service)
	return doc, true, nil
}
