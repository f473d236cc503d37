package client

import (
	"context"

	"github.com/parcours-sante/parcours/sdk/client/uri"
	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Consents = (*Client)(nil)

// GrantList is the JSON of GET /api/v1/grants.
type GrantList struct {
	Grants []portal.Grant `json:"grants"`
}

// GrantBody is the JSON body of
// POST /api/v1/establishments/{establishment}/grants.
type GrantBody struct {
	Practitioner string `json:"practitioner"`
	// RPPS, when set, is the RPPS number the practitioner was looked up
	// by in the establishment: the host refuses the grant unless that
	// establishment's directory answers Practitioner for it. Required by
	// a host whose establishments have directories of their own.
	RPPS string `json:"rpps,omitempty"`
}

// Grants implements portal.Consents: the signed-in patient's grants.
func (c *Client) Grants(ctx context.Context) ([]portal.Grant, error) {
	var out GrantList
	err := c.do(ctx, "GET", "/api/v1/grants", nil, nil, &out)
	return out.Grants, err
}

// GrantAccess implements portal.Consents: the signed-in patient grants
// practitioner access through establishment. A host whose establishments
// have practitioner directories of their own refuses it
// (invalid_request): use GrantAccessByRPPS there.
func (c *Client) GrantAccess(ctx context.Context, establishment, practitioner string) (portal.Grant, error) {
	return c.grant(ctx, establishment, GrantBody{Practitioner: practitioner})
}

// GrantAccessByRPPS is GrantAccess naming also the RPPS number the
// practitioner was looked up by (PractitionerByRPPSIn, in the same
// establishment): the host grants only if establishment's directory
// answers practitioner for rpps, and refuses (invalid_request) an id found
// in another establishment's directory.
func (c *Client) GrantAccessByRPPS(ctx context.Context, establishment, practitioner, rpps string) (portal.Grant, error) {
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Grant{}, err
	}
	return c.grant(ctx, establishment, GrantBody{Practitioner: practitioner, RPPS: rpps})
}

func (c *Client) grant(ctx context.Context, establishment string, body GrantBody) (portal.Grant, error) {
	var out portal.Grant
	path, err := establishmentPath(establishment)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, "POST", path+"/grants", nil, body, &out)
	return out, err
}

// RevokeAccess implements portal.Consents.
func (c *Client) RevokeAccess(ctx context.Context, id string) (portal.Grant, error) {
	var out portal.Grant
	err := c.do(ctx, "POST", "/api/v1/grants/"+uri.PathEscape(id)+"/revoke", nil, struct{}{}, &out)
	return out, err
}

var _ portal.PractitionerLookupIn = (*Client)(nil)

// PractitionerByRPPS implements portal.PractitionerLookup: the professional
// with RPPS number rpps, for the signed-in patient, on a host serving one
// establishment, or several sharing one directory; a host serving several
// with a directory each refuses it (invalid_request): use
// PractitionerByRPPSIn there. A malformed number is refused here, before
// any request.
func (c *Client) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	var out portal.Practitioner
	if err := portal.CheckRPPS(rpps); err != nil {
		return out, err
	}
	err := c.do(ctx, "GET", "/api/v1/practitioners/rpps/"+rpps, nil, nil, &out)
	return out, err
}

// PractitionerByRPPSIn implements portal.PractitionerLookupIn: the
// professional with RPPS number rpps as the directory of establishment
// knows them, the id to grant through that establishment
// (GET /api/v1/practitioners/rpps/{rpps}?establishment=…).
func (c *Client) PractitionerByRPPSIn(ctx context.Context, establishment, rpps string) (portal.Practitioner, error) {
	var out portal.Practitioner
	if establishment == "" {
		return out, portal.Errorf(portal.ErrInvalid, "establishment is required")
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return out, err
	}
	v := uri.Values{}
	v.Set("establishment", establishment)
	err := c.do(ctx, "GET", "/api/v1/practitioners/rpps/"+rpps+"?"+v.Encode(), nil, nil, &out)
	return out, err
}
