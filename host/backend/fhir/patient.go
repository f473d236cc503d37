package fhir

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Identifier systems of the INS, the French national health identifier
// (Identité Nationale de Santé), as the ANS's FHIR profiles write them
// (https://interop.esante.gouv.fr/ig/fhir/core/, FrPatientINS). The value
// is 15 characters: a NIR or NIA of 13 (the 6th and 7th may be 2A or 2B,
// Corsica) and a 2-digit key, 97 minus the number modulo 97.
//
// An INS is health data in its own right: this package never logs one (no
// query string is logged, and the server's diagnostics are redacted), and
// never puts one in an error.
const (
	// INSNIR is the INS-NIR, the social security number of a person
	// born or registered in France.
	INSNIR = "urn:oid:1.2.250.1.213.1.4.8"
	// INSNIA is the INS-NIA, the temporary number INSEE gives a person
	// awaiting a NIR.
	INSNIA = "urn:oid:1.2.250.1.213.1.4.9"
	// INSNIRTest is the system of test NIRs, for fictional patients;
	// the demo and the tests use it, never INSNIR.
	INSNIRTest = "urn:oid:1.2.250.1.213.1.4.10"
)

func isINSSystem(s string) bool { return s == INSNIR || s == INSNIA || s == INSNIRTest }

// ValidINS reports whether value has the shape of an INS (NIR or NIA) and
// its key is right.
func ValidINS(value string) bool {
	if len(value) != 15 {
		return false
	}
	digits := []byte(value[:13])
	switch value[5:7] {
	case "2A", "2a":
		digits[5], digits[6] = '1', '9' // Corsica: 2A counts as 19 …
	case "2B", "2b":
		digits[5], digits[6] = '1', '8' // … and 2B as 18
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return false
	}
	key, err := strconv.ParseUint(value[13:], 10, 64)
	return err == nil && key == 97-n%97
}

// requirePatient returns the context's patient id, or ErrUnauthenticated
// when there is none or it cannot be a Patient's logical id.
func requirePatient(ctx context.Context) (string, error) {
	id, err := portal.RequirePatient(ctx)
	if err != nil {
		return "", err
	}
	if !validID(id) {
		return "", portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	return id, nil
}

// Patient returns the Patient id (https://hl7.org/fhir/R4/patient.html)
// with its usual name (else its official one), or ErrNotFound.
func (b *Backend) Patient(ctx context.Context, id string) (portal.Patient, error) {
	r, _, err := b.read(ctx, "Patient", id)
	if err != nil {
		return portal.Patient{}, err
	}
	p, err := patientFrom(r)
	if err != nil {
		return portal.Patient{}, b.badData("Patient", err)
	}
	return p.Patient, nil
}

// DemoPatients lists the Patients tagged as fictional (meta.tag
// SystemTag|TagDemo, search Patient?_tag=), ordered by family name, given
// name and id. A server without demo data gives an empty list.
func (b *Backend) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	found, err := b.search(ctx, "Patient", values("_tag", SystemTag+"|"+TagDemo))
	if err != nil {
		return nil, err
	}
	out := []portal.Patient{}
	for _, r := range found {
		p, err := patientFrom(r)
		if err != nil {
			b.skip("Patient", err)
			continue
		}
		if p.Demo && !slices.ContainsFunc(out, func(q portal.Patient) bool { return q.ID == p.ID }) {
			out = append(out, p.Patient)
		}
	}
	slices.SortFunc(out, func(x, y portal.Patient) int {
		return cmp.Or(strings.Compare(x.FamilyName, y.FamilyName), strings.Compare(x.GivenName, y.GivenName), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// PatientByINS returns the one Patient whose identifier is the INS value in
// system (INSNIR, INSNIA or INSNIRTest), for the sign-in that brings an INS
// (search Patient?identifier=system|value). A value that is not an INS is
// ErrInvalid, no such Patient ErrNotFound; several Patients with one INS
// are an identity-vigilance incident, refused as ErrInternal and logged
// (without the INS) for the establishment to merge them.
func (b *Backend) PatientByINS(ctx context.Context, system, value string) (portal.Patient, error) {
	if !isINSSystem(system) || !ValidINS(value) {
		return portal.Patient{}, portal.Errorf(portal.ErrInvalid, "not an INS")
	}
	found, err := b.search(ctx, "Patient", values("identifier", system+"|"+value))
	if err != nil {
		return portal.Patient{}, err
	}
	var matches []patient
	for _, r := range found {
		p, err := patientFrom(r)
		if err != nil {
			b.skip("Patient", err)
			continue
		}
		if slices.Contains(p.INS, identifier{system, value}) {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 0:
		return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "no patient with this INS")
	case 1:
		return matches[0].Patient, nil
	}
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.ID
	}
	b.log.Error("fhir: several Patients share one INS", "system", system, "patients", ids)
	return portal.Patient{}, portal.Errorf(portal.ErrInternal, "several patients share one INS")
}
