package test

import "github.com/gearctl/gearctl/internal/testenv"

// need stops a test whose real component is missing: it fails in CI and
// skips elsewhere (see testenv).
var need = testenv.Need
