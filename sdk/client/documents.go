package client

import (
	"context"
	"github.com/parcours-sante/parcours/sdk/client/uri"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Documents = (*Client)(nil)

// DocumentList is the JSON of GET /api/v1/establishments/{establishment}/documents.
type DocumentList struct {
	Documents []portal.Document `json:"documents"`
}

// AnalyteList is the JSON of GET /api/v1/establishments/{establishment}/analytes.
type AnalyteList struct {
	Analytes []portal.Analyte `json:"analytes"`
}

// UploadBody is the JSON body of
// POST /api/v1/establishments/{establishment}/documents: a patient's
// document for the care team of Service. File.Data holds the bytes, in
// standard base64 in the JSON.
type UploadBody struct {
	Service  string         `json:"service"`
	Title    string         `json:"title"`
	ClientID string         `json:"client_id"`
	File     AttachmentBody `json:"file"`
}

func documentPath(id string) string { return "/api/v1/documents/" + uri.PathEscape(id) }

// DocumentQuery returns the query string of a documents filter, as
// GET …/documents and …/documents/count read it ("" for the zero filter).
func DocumentQuery(f portal.DocumentFilter) string {
	v := uri.Values{}
	for k, s := range map[string]string{"type": string(f.Type), "q": f.Search, "service": f.Service, "patient": f.Patient} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.Held {
		v.Set("held", "true")
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Documents implements portal.Documents: the documents the signed-in
// person sees in an establishment.
func (c *Client) Documents(ctx context.Context, establishment string, f portal.DocumentFilter) ([]portal.Document, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	path, err := establishmentPath(establishment)
	if err != nil {
		return nil, err
	}
	var out DocumentList
	err = c.do(ctx, "GET", path+"/documents"+DocumentQuery(f), nil, nil, &out)
	return out.Documents, err
}

// CountDocuments implements portal.Documents.
func (c *Client) CountDocuments(ctx context.Context, establishment string, f portal.DocumentFilter) (portal.DocumentCount, error) {
	var out portal.DocumentCount
	if err := f.Validate(); err != nil {
		return out, err
	}
	path, err := establishmentPath(establishment)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, "GET", path+"/documents/count"+DocumentQuery(f), nil, nil, &out)
	return out, err
}

// Document implements portal.Documents.
func (c *Client) Document(ctx context.Context, id string) (portal.Document, error) {
	var out portal.Document
	err := c.do(ctx, "GET", documentPath(id), nil, nil, &out)
	return out, err
}

// DocumentContentURL returns the address that downloads a document's file,
// for a link the browser follows (with the session cookie); inline asks
// for Content-Disposition inline, to show it in a frame of the widget.
func (c *Client) DocumentContentURL(id string, inline bool) string {
	return c.base + DocumentContentPath(id, inline)
}

// DocumentContentPath is DocumentContentURL's path, on the host's origin.
func DocumentContentPath(id string, inline bool) string {
	return documentPath(id) + "/content" + dispositionQuery(inline)
}

// DocumentImageURL returns the address of an image of a document, as
// DocumentContentURL does for its file.
func (c *Client) DocumentImageURL(documentID, imageID string, inline bool) string {
	return c.base + DocumentImagePath(documentID, imageID, inline)
}

// DocumentImagePath is DocumentImageURL's path, on the host's origin.
func DocumentImagePath(documentID, imageID string, inline bool) string {
	return documentPath(documentID) + "/images/" + uri.PathEscape(imageID) + dispositionQuery(inline)
}

func dispositionQuery(inline bool) string {
	if inline {
		return "?disposition=inline"
	}
	return ""
}

// DocumentContent implements portal.Documents: the document's description,
// then its file, checked against the description's size and SHA-256. The
// bytes must fit in MaxResponseBytes.
func (c *Client) DocumentContent(ctx context.Context, id string) (portal.Document, []byte, error) {
	doc, err := c.Document(ctx, id)
	if err != nil {
		return portal.Document{}, nil, err
	}
	resp, err := c.roundTrip(ctx, "GET", documentPath(id)+"/content", nil, nil)
	if err != nil {
		return portal.Document{}, nil, err
	}
	if int64(len(resp.Body)) != doc.Size || !digestMatches(resp.Body, doc.SHA256) {
		return portal.Document{}, nil, portal.Errorf(portal.ErrInternal, "document %s: the bytes received do not match its size and digest", id)
	}
	return doc, resp.Body, nil
}

// DocumentImage implements portal.Documents: the image's description, from
// its document's, then its bytes, checked against it.
func (c *Client) DocumentImage(ctx context.Context, documentID, imageID string) (portal.DocumentImage, []byte, error) {
	resp, err := c.roundTrip(ctx, "GET", documentPath(documentID)+"/images/"+uri.PathEscape(imageID), nil, nil)
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	doc, err := c.Document(ctx, documentID)
	if err != nil {
		return portal.DocumentImage{}, nil, err
	}
	for _, img := range doc.Images {
		if img.ID != imageID {
			continue
		}
		if int64(len(resp.Body)) != img.Size || !digestMatches(resp.Body, img.SHA256) {
			return portal.DocumentImage{}, nil, portal.Errorf(portal.ErrInternal, "image %s: the bytes received do not match its size and digest", imageID)
		}
		return img, resp.Body, nil
	}
	return portal.DocumentImage{}, nil, portal.Errorf(portal.ErrInternal, "image %s is not among its document's images", imageID)
}

// MarkDocumentSeen implements portal.Documents.
func (c *Client) MarkDocumentSeen(ctx context.Context, id string) error {
	return c.do(ctx, "POST", documentPath(id)+"/seen", nil, struct{}{}, nil)
}

// ReleaseDocument implements portal.Documents, for a practitioner.
func (c *Client) ReleaseDocument(ctx context.Context, id string) (portal.Document, error) {
	var out portal.Document
	err := c.do(ctx, "POST", documentPath(id)+"/release", nil, struct{}{}, &out)
	return out, err
}

// Analytes implements portal.Documents.
func (c *Client) Analytes(ctx context.Context, establishment string) ([]portal.Analyte, error) {
	path, err := establishmentPath(establishment)
	if err != nil {
		return nil, err
	}
	var out AnalyteList
	err = c.do(ctx, "GET", path+"/analytes", nil, nil, &out)
	return out.Analytes, err
}

// Trend implements portal.Documents.
func (c *Client) Trend(ctx context.Context, establishment, code string) (portal.Trend, error) {
	var out portal.Trend
	if err := portal.ValidateAnalyteCode(code); err != nil {
		return out, err
	}
	path, err := establishmentPath(establishment)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, "GET", path+"/analytes/"+uri.PathEscape(code)+"/trend", nil, nil, &out)
	return out, err
}

// UploadDocument implements portal.Documents. Retrying with the same
// u.ClientID is safe: the host answers the document already stored.
func (c *Client) UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error) {
	var out portal.Document
	path, err := establishmentPath(u.Establishment)
	if err != nil {
		return out, err
	}
	body := UploadBody{Service: u.Service, Title: u.Title, ClientID: u.ClientID,
		File: AttachmentBody{Name: u.File.Name, ContentType: u.File.ContentType, Data: u.File.Content}}
	err = c.do(ctx, "POST", path+"/documents", nil, body, &out)
	return out, err
}
