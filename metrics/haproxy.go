package metrics

import (
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/haproxy"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	desiredDesc = prometheus.NewDesc("gearctl_haproxy_desired",
		"What the gear wants of haproxy: 1 for up, drain or down, 0 for the others.", []string{"state"}, nil)
	haproxyStateDesc = prometheus.NewDesc("gearctl_haproxy_state",
		"The gear's server in haproxy as last learned: 1 for its administrative state (ready, drain or maint; "+
			"absent when haproxy does not have it, unknown before haproxy first answered), 0 for the others.",
		[]string{"state"}, nil)
	healthyDesc = prometheus.NewDesc("gearctl_haproxy_healthy",
		"1 when haproxy's checks count the gear's server up, 0 when down; absent when haproxy does not have it.", nil, nil)
	haproxyErrorDesc = prometheus.NewDesc("gearctl_haproxy_error",
		"1 when the latest attempt to learn or change the registration failed (status's haproxy.error), else 0.", nil, nil)
	learnedDesc = prometheus.NewDesc("gearctl_haproxy_learned_timestamp_seconds",
		"When haproxy last told the gear's server's state, in seconds since the Unix epoch.", nil, nil)
)

var (
	desired     = []haproxy.Desired{haproxy.DesiredUp, haproxy.DesiredDrain, haproxy.DesiredDown}
	adminStates = []haproxy.AdminState{haproxy.StateReady, haproxy.StateDrain, haproxy.StateMaint}
)

// balancerCollector reads the haproxy registration as status does.
type balancerCollector struct{ report func() control.BalancerReport }

func (c balancerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{desiredDesc, haproxyStateDesc, healthyDesc, haproxyErrorDesc, learnedDesc} {
		ch <- d
	}
}

func (c balancerCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.report()
	enum(ch, desiredDesc, desired, haproxy.Desired(r.Desired))
	gauge(ch, haproxyErrorDesc, one(r.Error != ""))
	if r.Backend == "" {
		return // an agent responder alone registers nothing
	}
	enum(ch, haproxyStateDesc, adminStates, haproxy.AdminState(r.State))
	if r.Healthy != nil {
		gauge(ch, healthyDesc, one(*r.Healthy))
	}
	if !r.LearnedAt.IsZero() {
		gauge(ch, learnedDesc, float64(r.LearnedAt.UnixNano())/1e9)
	}
}
