// Package demoid lists the demo identity provider's accounts: the fictional
// patients and practitioners of the demo establishment, as the demo OIDC
// provider (host/idp, run by parcours-idp) signs them in and as the SQLite
// seed links them to its records. Everything here is fictional and public:
// the passwords and second-factor secrets are written in the docs.
package demoid

// Provider is the demo provider's name in the host's configuration and in
// the account links (portal.Accounts).
const Provider = "demo"

// Kinds of account.
const (
	Patient      = "patient"
	Practitioner = "practitioner"
)

// Account is one demo account.
type Account struct {
	// Subject is the ID token's "sub": opaque, as FranceConnect's and
	// Pro Santé Connect's are, and unrelated to the record's id.
	Subject  string
	Password string
	// Kind is Patient or Practitioner; Person is the linked record's id
	// in the demo establishment (host/backend/sqlite's seed).
	Kind   string
	Person string
	// Names and e-mail, as the provider's claims.
	GivenName, FamilyName, Email string
	// TOTPSecret, base32 (RFC 6238, SHA-1, 6 digits, 30 s; 160 bits, as RFC 4226 recommends), is the second
	// factor every practitioner account has; patients have none.
	TOTPSecret string
	// INS is the patient's national health identifier in the seed, with
	// a valid key; fictional. Empty for practitioners.
	INS string
}

// Password is every demo account's password, shown on the demo provider's
// sign-in page.
const Password = "parcours-demo"

// Accounts are the demo accounts, patients first.
var Accounts = []Account{
	{Subject: "fc-7f3a9c21", Password: Password, Kind: Patient, Person: "pat-camille-durand",
		GivenName: "Camille", FamilyName: "Durand", Email: "camille.durand@example.test", INS: "292036912345604"},
	{Subject: "fc-2b84e0d6", Password: Password, Kind: Patient, Person: "pat-lucas-bernard",
		GivenName: "Lucas", FamilyName: "Bernard", Email: "lucas.bernard@example.test", INS: "178058604501785"},
	{Subject: "fc-c15d7e93", Password: Password, Kind: Patient, Person: "pat-ines-moreau",
		GivenName: "Inès", FamilyName: "Moreau", Email: "ines.moreau@example.test", INS: "201017505612316"},
	{Subject: "psc-4e1f0a77", Password: Password, Kind: Practitioner, Person: "pr-claire-martin",
		GivenName: "Claire", FamilyName: "Martin", Email: "claire.martin@chu-exemple.example.org",
		TOTPSecret: "VLIAIQ4L6PNCAIQQF7GVWKX3UZV635VK"},
	{Subject: "psc-9a62c4b8", Password: Password, Kind: Practitioner, Person: "pr-nathalie-fournier",
		GivenName: "Nathalie", FamilyName: "Fournier", Email: "nathalie.fournier@chu-exemple.example.org",
		TOTPSecret: "OQLI3DGNAF45QV26W7CEZ7GHU5E6WJUM"},
	{Subject: "psc-5d03b1e2", Password: Password, Kind: Practitioner, Person: "pr-julien-roux",
		GivenName: "Julien", FamilyName: "Roux", Email: "julien.roux@chu-exemple.example.org",
		TOTPSecret: "ZNML5JZAM7ETI3JFYS4YKX2DM6VAECSI"},
	// A city general practitioner, of no service: he sees a patient's
	// documents once the patient grants him access.
	{Subject: "psc-b7e2914c", Password: Password, Kind: Practitioner, Person: "pr-paul-mercier",
		GivenName: "Paul", FamilyName: "Mercier", Email: "paul.mercier@cabinet-mercier.example.org",
		TOTPSecret: "KBZQLZRQDZQN7TKDVNX5WBVNAWT7GWXG"},
}
