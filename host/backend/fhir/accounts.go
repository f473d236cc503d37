package fhir

import (
	"context"
	"net/url"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// SystemAccountPrefix starts the identifier system of an identity
// provider's accounts: a Patient or Practitioner linked to the account
// "sub" of the provider named "franceconnect" in the host's configuration
// has the identifier
// {"system": SystemAccountPrefix + "franceconnect", "value": sub}
// (the provider's name path-escaped). The establishment adds it when it
// verified the person's identity.
const SystemAccountPrefix = "https://parcours-sante.org/fhir/sid/account/"

var _ portal.Accounts = (*Backend)(nil)

// accountSystem is the identifier system of the accounts of provider.
func accountSystem(provider string) string {
	return SystemAccountPrefix + url.PathEscape(provider)
}

// escapeToken escapes a token search value
// (https://hl7.org/fhir/R4/search.html#escaping).
func escapeToken(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(s)
}

// hasIdentifier reports whether r has the identifier system|value, exactly:
// a server may match token values loosely (case, escapes), the account
// link may not.
func hasIdentifier(r gjson.Result, system, value string) bool {
	found := false
	r.Get("identifier").ForEach(func(_, id gjson.Result) bool {
		found = id.Get("system").String() == system && id.Get("value").String() == value
		return !found
	})
	return found
}

// Account returns the Patient or Practitioner linked to subject at the
// identity provider named provider (portal.Accounts): the one with the
// identifier accountSystem(provider)|subject, searched among Patients
// (Patient?identifier=) and Practitioners (two searches, so that a
// subject linked to both shows). Only an exact match of system and value
// counts. No one is ErrNotFound; more than one record with that
// identifier is an identity-vigilance incident,
// refused as ErrInternal and logged (the record ids, not the subject) for
// the establishment to fix.
func (b *Backend) Account(ctx context.Context, provider, subject string) (portal.Subject, error) {
	if provider == "" || subject == "" {
		return portal.Subject{}, portal.Errorf(portal.ErrNotFound, "no account linked")
	}
	system := accountSystem(provider)
	var found []portal.Subject
	for _, typ := range []string{"Patient", "Practitioner"} {
		rs, err := b.search(ctx, typ, values("identifier", system+"|"+escapeToken(subject)))
		if err != nil {
			return portal.Subject{}, err
		}
		for _, r := range rs {
			id := r.Get("id").String()
			if r.Get("resourceType").String() != typ || !validID(id) || !hasIdentifier(r, system, subject) {
				continue
			}
			if typ == "Patient" {
				found = append(found, portal.Subject{Patient: id})
			} else {
				found = append(found, portal.Subject{Practitioner: id})
			}
		}
	}
	switch len(found) {
	case 0:
		return portal.Subject{}, portal.Errorf(portal.ErrNotFound, "no account linked at provider %q", provider)
	case 1:
		return found[0], nil
	}
	b.log.Error("fhir: several records share one account", "provider", provider, "records", found)
	return portal.Subject{}, portal.Errorf(portal.ErrInternal, "several records share one account")
}
