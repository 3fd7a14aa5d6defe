// Package metricstest reads metrics as a scraper does, for tests: the
// Prometheus text format, parsed by the library's own parser.
package metricstest

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one scrape's metric families, by name.
type Scrape struct {
	tb       testing.TB
	Families map[string]*dto.MetricFamily
}

// Get scrapes url, which must answer 200 in the text format.
func Get(tb testing.TB, url string) Scrape {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain") {
		tb.Fatalf("GET %s: %d, Content-Type %q; want 200, text/plain\n%s", url, resp.StatusCode, ct, body)
	}
	return Parse(tb, string(body))
}

// Parse reads text in the text format, with the names Prometheus has
// always allowed.
func Parse(tb testing.TB, text string) Scrape {
	tb.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		tb.Fatalf("not the Prometheus text format: %v\n%s", err, text)
	}
	return Scrape{tb: tb, Families: fams}
}

// Series is the series of name with exactly the labels given as
// "name=value"; nil when there is none.
func (s Scrape) Series(name string, labels ...string) *dto.Metric {
	f := s.Families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		match := len(m.Label) == len(labels)
		for _, l := range m.Label {
			match = match && slices.Contains(labels, l.GetName()+"="+l.GetValue())
		}
		if match {
			return m
		}
	}
	return nil
}

// Value is that series' gauge or counter value; the test fails when there
// is none.
func (s Scrape) Value(name string, labels ...string) float64 {
	s.tb.Helper()
	m := s.Series(name, labels...)
	switch {
	case m == nil:
		s.tb.Fatalf("no series %s%v", name, labels)
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	s.tb.Fatalf("%s%v is neither a gauge nor a counter", name, labels)
	return 0
}

// Histogram is that series' histogram; the test fails when there is none.
func (s Scrape) Histogram(name string, labels ...string) *dto.Histogram {
	s.tb.Helper()
	m := s.Series(name, labels...)
	if m == nil || m.Histogram == nil {
		s.tb.Fatalf("no histogram %s%v", name, labels)
	}
	return m.Histogram
}
