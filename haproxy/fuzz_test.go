package haproxy

import "testing"

// The seed corpora live in testdata/fuzz/<FuzzName>/ and are replies seen
// on haproxy 2.6 plus malformed variants; f.Add adds the captured ones too
// so the seeds stay right if the files are edited.

// FuzzParseServersState: the parser of "show servers state" never panics,
// and what it accepts is well formed.
func FuzzParseServersState(f *testing.F) {
	f.Add(serversStateReply)
	f.Add("1\n" + serversStateHeader)
	f.Fuzz(func(t *testing.T, reply string) {
		states, err := ParseServersState(reply)
		if err != nil {
			return
		}
		for _, s := range states {
			_ = s.AdminState()
			_ = s.Healthy()
			_ = s.Serving()
			_ = s.CheckStatus.String()
			_ = s.OpState.String()
		}
	})
}

// FuzzParseStat: the "show stat" CSV parser never panics.
func FuzzParseStat(f *testing.F) {
	f.Add(statReply)
	f.Fuzz(func(t *testing.T, reply string) {
		stats, err := ParseStat(reply)
		if err != nil {
			return
		}
		for _, s := range stats {
			if s.Fields == nil {
				t.Fatalf("row without fields: %+v", s)
			}
		}
	})
}

// FuzzAgentLine: the agent reply parser never panics, and the line the
// responder writes for whatever state a reply amounts to reads back as
// that state.
func FuzzAgentLine(f *testing.F) {
	for _, s := range []AgentState{AgentDown, AgentDrain, AgentMaint, AgentReady} {
		f.Add(s.Line())
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := ParseAgentLine(line)
		if err != nil {
			return
		}
		back, err := ParseAgentLine(s.Line())
		if err != nil || back != s {
			t.Fatalf("%q → %s → %q → %s, %v", line, s, s.Line(), back, err)
		}
	})
}
