// Parcours builds with this module in place of github.com/vugu/vjson (the
// replace directive in the repository's go.mod): see vjson.go.
module github.com/vugu/vjson

go 1.26

require github.com/tidwall/gjson v1.20.1

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
)
