package haproxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Replies captured from haproxy 2.6.12 (Debian 12), trailing blank lines
// removed as Client.Run does.
const (
	serversStateHeader = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port"

	// static1 down (L4CON), g5 drained with a passed L7 check and the
	// agent enabled, h unresolved by name.
	serversStateReply = "1\n" + serversStateHeader + "\n" +
		"3 express 1 static1 127.0.0.1 0 0 1 1 33 8 2 0 6 0 0 0 - 19081 - 0 0 - - 0\n" +
		"3 express 2 g5 127.0.0.1 2 8 100 100 3 15 3 4 6 22 0 0 - 19082 - 0 0 - - 19083\n" +
		"3 express 3 h - 0 1 1 1 0 1 0 0 2 0 0 0 localhost 19082 - 0 0 - - 0"

	statHeader = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,"

	statReply = statHeader + "\n" +
		"express,static1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,33,33,,1,3,1,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,,127.0.0.1:19081,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n" +
		"express,g5,0,0,1,1,,0,0,0,,0,,0,0,0,0,DOWN (agent),100,1,0,0,0,3,3,,1,3,2,,0,,2,0,,0,L7OK,200,1,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,Connection refused,0,0,0,0,L4CON,,2,Layer7 check passed,Layer4 connection problem,2,3,4,1,1,0,127.0.0.1:19082,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,"
)

func TestParseServersState(t *testing.T) {
	states, err := ParseServersState(serversStateReply)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 3 {
		t.Fatalf("got %d servers, want 3", len(states))
	}
	s := states[1]
	want := ServerState{
		BackendID: 3, Backend: "express", ID: 2, Name: "g5", Addr: "127.0.0.1", Port: 19082,
		OpState: OpRunning, Admin: AdminForcedDrain, Weight: 100, InitialWeight: 100,
		SinceChange: 3 * time.Second, CheckStatus: 15, CheckResult: CheckPassed, CheckHealth: 4,
		CheckState: CheckConfigured | CheckEnabled, AgentState: CheckAgent | CheckConfigured | CheckEnabled,
		AgentPort: 19083,
	}
	if s != want {
		t.Fatalf("g5 =\n %+v\nwant\n %+v", s, want)
	}
	if s.CheckStatus.String() != "L7OK" || s.AdminState() != StateDrain || !s.Healthy() || s.Serving() || !s.AgentEnabled() {
		t.Fatalf("g5 accessors: status %s admin %s healthy %v serving %v", s.CheckStatus, s.AdminState(), s.Healthy(), s.Serving())
	}
	if d := states[0]; d.CheckStatus.String() != "L4CON" || d.CheckResult != CheckFailed || d.OpState != OpStopped || d.AdminState() != StateReady {
		t.Fatalf("static1 = %+v", d)
	}
	if h := states[2]; h.Addr != "" || h.FQDN != "localhost" || h.AdminState() != StateMaint {
		t.Fatalf("h = %+v", h)
	}

	// A backend without servers.
	if states, err := ParseServersState("1\n" + serversStateHeader); err != nil || len(states) != 0 {
		t.Fatalf("empty backend: %v, %v", states, err)
	}
	// Columns are found by name: a reply with fewer, reordered columns.
	states, err = ParseServersState("1\n# srv_name be_name srv_op_state\ng1 web 2")
	if err != nil || len(states) != 1 || states[0].Name != "g1" || states[0].Backend != "web" || states[0].OpState != OpRunning {
		t.Fatalf("reordered columns: %+v, %v", states, err)
	}

	for _, bad := range []string{
		"",
		"Can't find backend.",
		"2\n" + serversStateHeader,
		"1",
		"1\nbe_id be_name",
		"1\n# be_id srv_id",
		"1\n" + serversStateHeader + "\n3 express 1 short",
		"1\n" + serversStateHeader + "\nx express 1 static1 127.0.0.1 0 0 1 1 33 8 2 0 6 0 0 0 - 19081 - 0 0 - - 0",
		"1\n" + serversStateHeader + "\n3 express 1 static1 127.0.0.1 0 -1 1 1 33 8 2 0 6 0 0 0 - 19081 - 0 0 - - 0",
	} {
		if _, err := ParseServersState(bad); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseServersState(%q) = %v, want ErrBadReply", bad, err)
		}
	}
}

func TestParseStat(t *testing.T) {
	stats, err := ParseStat(statReply)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("got %d rows, want 2", len(stats))
	}
	g := stats[1]
	if g.Backend != "express" || g.Server != "g5" || g.Status != "DOWN (agent)" || g.Sessions != 1 ||
		g.Queued != 0 || g.Weight != 100 || g.CheckStatus != "L7OK" || g.CheckDesc != "Layer7 check passed" ||
		g.AgentStatus != "L4CON" || g.LastAgent != "Connection refused" || g.Fields["addr"] != "127.0.0.1:19082" {
		t.Fatalf("g5 = %+v", g)
	}
	if s := stats[0]; s.LastCheck != "Connection refused" || s.CheckDesc != "Layer4 connection problem" {
		t.Fatalf("static1 = %+v", s)
	}
	// haproxy quotes a field holding a comma.
	stats, err = ParseStat("# pxname,svname,scur,last_chk,\nweb,g1,2,\"Bad, very bad\",")
	if err != nil || len(stats) != 1 || stats[0].LastCheck != "Bad, very bad" || stats[0].Sessions != 2 {
		t.Fatalf("quoted field: %+v, %v", stats, err)
	}
	for _, bad := range []string{"", "No such proxy.", "# scur,qcur", "# pxname,svname,scur\nweb,g1,many"} {
		if _, err := ParseStat(bad); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseStat(%q) = %v, want ErrBadReply", bad, err)
		}
	}
}

// TestCommandErrorKinds maps each refusal text seen on haproxy 2.6 to its
// sentinel, without a running haproxy.
func TestCommandErrorKinds(t *testing.T) {
	for reply, want := range map[string]error{
		"No such backend.":    ErrNoSuchBackend,
		"Can't find backend.": ErrNoSuchBackend,
		"No such proxy.":      ErrNoSuchBackend,
		"No such server.":     ErrNoSuchServer,
		"Already exists a server with the same name in backend.":                ErrServerExists,
		"Only servers in maintenance mode can be deleted.":                      ErrNotInMaintenance,
		"Server still has connections attached to it, cannot remove it.":        ErrServerBusy,
		"'cookie' option is not accepted for dynamic server":                    ErrDynamicKeyword,
		"'redir' option is not accepted for dynamic server":                     ErrDynamicKeyword,
		"Backend must use a dynamic load balancing to support dynamic servers.": ErrBackendNotDynamic,
		"Permission denied": ErrPermission,
		"Unknown command, but maybe one of the following ones is a better match:\n  add acl [@<ver>] <acl> <pattern>": ErrUnknownCommand,
		"unknown keyword 'foo'; did you mean 'tfo' maybe ?":                                                           nil,
		"Agent was not configured on this server, cannot enable.":                                                     nil,
		"'set server <srv> state' expects 'ready', 'drain' and 'maint'.":                                              nil,
		"server g3 does not have agent port. Agent check has been disabled.":                                          nil,
	} {
		err := commandError("cmd", reply)
		if !errors.Is(err, ErrCommand) {
			t.Errorf("%q: %v does not match ErrCommand", reply, err)
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%q: %v does not match %v", reply, err, want)
		}
		if want == nil && err.kind != nil {
			t.Errorf("%q: unexpected kind %v", reply, err.kind)
		}
		first, _, _ := strings.Cut(reply, "\n")
		if !strings.Contains(err.Error(), first) {
			t.Errorf("%q: error %q lacks haproxy's words", reply, err)
		}
	}
}

func TestAgentLines(t *testing.T) {
	for _, s := range []AgentState{AgentDown, AgentDrain, AgentMaint, AgentReady} {
		got, err := ParseAgentLine(s.Line())
		if err != nil || got != s {
			t.Errorf("ParseAgentLine(%q) = %s, %v; want %s", s.Line(), got, err, s)
		}
	}
	if AgentState(42).Line() != "down\n" {
		t.Errorf("an unknown state says %q, want down", AgentState(42).Line())
	}
	for line, want := range map[string]AgentState{
		"up\n":                   AgentReady,
		"READY UP 75%\r\n":       AgentReady,
		"50%,up":                 AgentReady,
		"drain 0%":               AgentDrain,
		"ready,down#db is gone":  AgentDown,
		"stopped#maint over":     AgentDown,
		"fail":                   AgentDown,
		"maint down":             AgentMaint,
		"up maxconn:30":          AgentReady,
		"drain\nready up 100%\n": AgentDrain,
	} {
		got, err := ParseAgentLine(line)
		if err != nil || got != want {
			t.Errorf("ParseAgentLine(%q) = %s, %v; want %s", line, got, err, want)
		}
	}
	for _, bad := range []string{"", "\n", "100%", "hello", "up 300%", "up x%", "up maxconn:-1"} {
		if _, err := ParseAgentLine(bad); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseAgentLine(%q) = %v, want ErrBadReply", bad, err)
		}
	}
}
