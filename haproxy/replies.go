package haproxy

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// OpState is a server's operational state, srv_op_state in
// "show servers state" (haproxy's enum srv_state).
type OpState int

// Operational states.
const (
	OpStopped  OpState = 0 // down: checks failed, or never passed with the agent enabled
	OpStarting OpState = 1 // up, warming up (slowstart)
	OpRunning  OpState = 2 // up
	OpStopping OpState = 3 // up but soft-stopping (disable-on-404)
)

func (o OpState) String() string {
	switch o {
	case OpStopped:
		return "down"
	case OpStarting:
		return "starting"
	case OpRunning:
		return "up"
	case OpStopping:
		return "stopping"
	}
	return "opstate(" + strconv.Itoa(int(o)) + ")"
}

// AdminFlags is srv_admin_state, a bit set (haproxy's enum srv_admin):
// several origins can hold a server in maintenance or drain at once.
type AdminFlags uint

// Administrative flags.
const (
	AdminForcedMaint    AdminFlags = 0x01 // "set server state maint", an agent's "maint", or a new dynamic server
	AdminInheritedMaint AdminFlags = 0x02 // from a tracked server
	AdminConfigMaint    AdminFlags = 0x04 // "disabled" in the configuration
	AdminForcedDrain    AdminFlags = 0x08 // "set server state drain", or an agent's "drain"
	AdminInheritedDrain AdminFlags = 0x10 // from a tracked server
	AdminResolveMaint   AdminFlags = 0x20 // its name did not resolve
	AdminFQDNChanged    AdminFlags = 0x40 // its FQDN was changed at runtime (not a state)

	// adminMaintMask and adminDrainMask are haproxy's SRV_ADMF_MAINT and
	// SRV_ADMF_DRAIN: the flags that put a server in each state.
	adminMaintMask = AdminForcedMaint | AdminInheritedMaint | AdminResolveMaint
	adminDrainMask = AdminForcedDrain | AdminInheritedDrain
)

// CheckResult is srv_check_result, the outcome of the last health check
// (haproxy's enum chk_result).
type CheckResult int

// Check results; haproxy treats Passed and above as success.
const (
	CheckUnknown  CheckResult = 0 // no check finished yet
	CheckNeutral  CheckResult = 1
	CheckFailed   CheckResult = 2
	CheckPassed   CheckResult = 3
	CheckCondPass CheckResult = 4 // passed, but the server asks for no new sessions
)

func (r CheckResult) String() string {
	switch r {
	case CheckUnknown:
		return "unknown"
	case CheckNeutral:
		return "neutral"
	case CheckFailed:
		return "failed"
	case CheckPassed:
		return "passed"
	case CheckCondPass:
		return "conditionally passed"
	}
	return "checkresult(" + strconv.Itoa(int(r)) + ")"
}

// CheckStatus is srv_check_status (haproxy's enum healthcheck_status); its
// String is the code "show stat" prints in check_status.
type CheckStatus int

// checkStatusNames are haproxy 2.6's short names, in enum order.
var checkStatusNames = []string{
	"UNK", "INI", "START", "CHECKED", "HANA", "SOCKERR",
	"L4OK", "L4TOUT", "L4CON",
	"L6OK", "L6TOUT", "L6RSP",
	"L7TOUT", "L7RSP", "L57DATA", "L7OK", "L7OKC", "L7STS",
	"PROCERR", "PROCTOUT", "PROCOK",
}

func (s CheckStatus) String() string {
	if s >= 0 && int(s) < len(checkStatusNames) {
		return checkStatusNames[s]
	}
	return "checkstatus(" + strconv.Itoa(int(s)) + ")"
}

// CheckFlags is srv_check_state or srv_agent_state (haproxy's CHK_ST_*).
type CheckFlags uint

// Check flags.
const (
	CheckInProgress CheckFlags = 0x01
	CheckConfigured CheckFlags = 0x02 // "check" / "agent-check" was given
	CheckEnabled    CheckFlags = 0x04 // "enable health" / "enable agent" was run
	CheckPaused     CheckFlags = 0x08 // health checks paused by maintenance
	CheckAgent      CheckFlags = 0x10 // this is the agent check
)

// ServerState is one line of "show servers state": what haproxy holds about
// a server, and the same format as its server-state-file.
type ServerState struct {
	BackendID     int
	Backend       string
	ID            int
	Name          string
	Addr          string // "" when haproxy has none (an unresolved name)
	Port          int
	FQDN          string
	OpState       OpState
	Admin         AdminFlags
	Weight        int // current weight, after agent percentages
	InitialWeight int // weight given at creation
	SinceChange   time.Duration
	CheckStatus   CheckStatus
	CheckResult   CheckResult
	CheckHealth   int
	CheckState    CheckFlags
	AgentState    CheckFlags
	CheckAddr     string
	CheckPort     int
	AgentAddr     string
	AgentPort     int
}

// AdminState reduces the flags the way haproxy does: maintenance wins over
// drain, and neither means ready.
func (s ServerState) AdminState() AdminState {
	switch {
	case s.Admin&adminMaintMask != 0:
		return StateMaint
	case s.Admin&adminDrainMask != 0:
		return StateDrain
	}
	return StateReady
}

// HealthEnabled reports a configured and enabled health check.
func (s ServerState) HealthEnabled() bool {
	return s.CheckState&(CheckConfigured|CheckEnabled) == CheckConfigured|CheckEnabled
}

// AgentConfigured reports that the server was created with an agent check.
func (s ServerState) AgentConfigured() bool { return s.AgentState&CheckConfigured != 0 }

// AgentEnabled reports a configured and enabled agent check.
func (s ServerState) AgentEnabled() bool {
	return s.AgentState&(CheckConfigured|CheckEnabled) == CheckConfigured|CheckEnabled
}

// CheckPassed reports that the last health check finished and passed; a
// server whose checks have not run yet has CheckUnknown.
func (s ServerState) CheckPassed() bool { return s.CheckResult >= CheckPassed }

// Healthy reports that the last health check passed and the checks count
// the server up. Both are needed: "enable health" starts the check at its
// rise count, so a server can be up with no check run yet; and after
// failures one pass is not enough, it takes rise passes in a row.
func (s ServerState) Healthy() bool {
	return s.CheckPassed() && (s.OpState == OpRunning || s.OpState == OpStarting)
}

// Serving reports what a user calls UP: checks say up and the server takes
// new traffic.
func (s ServerState) Serving() bool {
	return (s.OpState == OpRunning || s.OpState == OpStarting) && s.AdminState() == StateReady
}

// isServersState tells a "show servers state" table (it starts with a
// format version number) from a refusal text.
func isServersState(reply string) bool {
	first, _, _ := strings.Cut(reply, "\n")
	if first == "" {
		return false
	}
	for _, r := range first {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseServersState parses the answer to "show servers state" (format
// version 1, the only one haproxy has). Columns are found by the names in
// the header line, so a haproxy that adds columns still parses.
func ParseServersState(reply string) ([]ServerState, error) {
	lines := strings.Split(reply, "\n")
	if v := strings.TrimSpace(lines[0]); v != "1" {
		return nil, fmt.Errorf("%w: servers state format version %q, want 1", ErrBadReply, v)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "#") {
		return nil, fmt.Errorf("%w: servers state without a header line", ErrBadReply)
	}
	cols := strings.Fields(strings.TrimPrefix(lines[1], "#"))
	idx := make(map[string]int, len(cols))
	for i, c := range cols {
		idx[c] = i
	}
	for _, need := range []string{"be_name", "srv_name"} {
		if _, ok := idx[need]; !ok {
			return nil, fmt.Errorf("%w: servers state header lacks %s", ErrBadReply, need)
		}
	}
	var out []ServerState
	for n, line := range lines[2:] {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != len(cols) {
			return nil, fmt.Errorf("%w: servers state line %d has %d fields, header has %d", ErrBadReply, n+3, len(f), len(cols))
		}
		r := row{fields: f, idx: idx}
		s := ServerState{
			BackendID:     r.int("be_id"),
			Backend:       r.str("be_name"),
			ID:            r.int("srv_id"),
			Name:          r.str("srv_name"),
			Addr:          r.str("srv_addr"),
			Port:          r.int("srv_port"),
			FQDN:          r.str("srv_fqdn"),
			OpState:       OpState(r.int("srv_op_state")),
			Admin:         AdminFlags(r.uint("srv_admin_state")),
			Weight:        r.int("srv_uweight"),
			InitialWeight: r.int("srv_iweight"),
			SinceChange:   time.Duration(r.int("srv_time_since_last_change")) * time.Second,
			CheckStatus:   CheckStatus(r.int("srv_check_status")),
			CheckResult:   CheckResult(r.int("srv_check_result")),
			CheckHealth:   r.int("srv_check_health"),
			CheckState:    CheckFlags(r.uint("srv_check_state")),
			AgentState:    CheckFlags(r.uint("srv_agent_state")),
			CheckAddr:     r.str("srv_check_addr"),
			CheckPort:     r.int("srv_check_port"),
			AgentAddr:     r.str("srv_agent_addr"),
			AgentPort:     r.int("srv_agent_port"),
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: servers state line %d: %w", ErrBadReply, n+3, r.err)
		}
		out = append(out, s)
	}
	return out, nil
}

// row reads named columns of one "show servers state" line, keeping the
// first conversion error so the caller checks once.
type row struct {
	fields []string
	idx    map[string]int
	err    error
}

// str is the column's text, "" for haproxy's "-" placeholder or a column
// this haproxy does not have.
func (r *row) str(col string) string {
	i, ok := r.idx[col]
	if !ok || r.fields[i] == "-" {
		return ""
	}
	return r.fields[i]
}

func (r *row) int(col string) int {
	s := r.str(col)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s %q is not a number", col, s)
	}
	return n
}

func (r *row) uint(col string) uint {
	s := r.str(col)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s %q is not a number", col, s)
	}
	return uint(n)
}

// Stat is one server row of "show stat".
type Stat struct {
	Backend string // pxname
	Server  string // svname
	// Status as the stats page shows it: "UP", "DOWN", "DRAIN", "MAINT",
	// "DOWN (agent)", "UP 1/3", "no check"...
	Status string
	// Sessions is scur, the sessions open on the server now; Queued is
	// qcur, the requests waiting for it. A drained server is idle when
	// both are 0.
	Sessions int
	Queued   int
	Weight   int
	// CheckStatus is check_status ("L7OK", "L4CON", "INI"; "* " in front
	// while a check runs), CheckDesc its words, LastCheck the detail
	// ("Connection refused", an HTTP reason).
	CheckStatus string
	CheckDesc   string
	LastCheck   string
	AgentStatus string
	AgentDesc   string
	LastAgent   string
	// Fields holds every column by name, for what is not typed above.
	Fields map[string]string
}

// ParseStat parses the CSV answer to "show stat". The header line starts
// with "# "; columns are found by name.
func ParseStat(reply string) ([]Stat, error) {
	rest, ok := strings.CutPrefix(reply, "# ")
	if !ok {
		return nil, fmt.Errorf("%w: stat without a \"# \" header", ErrBadReply)
	}
	cr := csv.NewReader(strings.NewReader(rest))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: stat header: %w", ErrBadReply, err)
	}
	idx := make(map[string]int, len(header))
	for i, h := range header {
		if h != "" {
			idx[h] = i
		}
	}
	for _, need := range []string{"pxname", "svname"} {
		if _, ok := idx[need]; !ok {
			return nil, fmt.Errorf("%w: stat header lacks %s", ErrBadReply, need)
		}
	}
	var out []Stat
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: stat: %w", ErrBadReply, err)
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		fields := make(map[string]string, len(header))
		for name, i := range idx {
			if i < len(rec) {
				fields[name] = rec[i]
			}
		}
		s := Stat{
			Backend:     fields["pxname"],
			Server:      fields["svname"],
			Status:      fields["status"],
			CheckStatus: fields["check_status"],
			CheckDesc:   fields["check_desc"],
			LastCheck:   fields["last_chk"],
			AgentStatus: fields["agent_status"],
			AgentDesc:   fields["agent_desc"],
			LastAgent:   fields["last_agt"],
			Fields:      fields,
		}
		for _, n := range []struct {
			col string
			dst *int
		}{{"scur", &s.Sessions}, {"qcur", &s.Queued}, {"weight", &s.Weight}} {
			v := fields[n.col]
			if v == "" {
				continue
			}
			if *n.dst, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("%w: stat %s/%s: %s %q is not a number", ErrBadReply, s.Backend, s.Server, n.col, v)
			}
		}
		out = append(out, s)
	}
	return out, nil
}
