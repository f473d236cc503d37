// Parcours builds with this module in place of github.com/tidwall/pretty (the
// replace directive in the repository's go.mod): see pretty.go.
module github.com/tidwall/pretty

go 1.26
