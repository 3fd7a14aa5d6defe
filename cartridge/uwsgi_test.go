package cartridge

import "testing"

func TestUWSGI(t *testing.T) { testServer(t, "uwsgi") }
