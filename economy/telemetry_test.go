package economy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// TestSpansAndMetrics checks one span per transaction carrying its retry
// count, and that the span retry counts add up to the retries metric, under
// contention on two hot accounts.
func TestSpansAndMetrics(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 100000)
	e.fund(t, 2, 100000)
	const workers, each = 12, 15
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				from, to := int64(1+(w+i)%2), int64(1+(w+i+1)%2)
				if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: economy.Op(fmt.Sprintf("t%d-%d", w, i)), From: from, To: to, Amount: economy.Exact(3)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	spans := 0
	var spanRetries int64
	for _, s := range rec.Ended() {
		if s.Name() != "economy.pay" {
			continue
		}
		spans++
		found := false
		for _, a := range s.Attributes() {
			if a.Key == "economy.retries" {
				found = true
				spanRetries += a.Value.AsInt64()
			}
		}
		if !found {
			t.Fatal("span without economy.retries")
		}
	}
	if spans != workers*each {
		t.Fatalf("%d pay spans, want %d", spans, workers*each)
	}
	if got := mustCounter(t, e, "pay"); got != workers*each {
		t.Fatalf("transactions_total{kind=pay} = %v, want %d", got, workers*each)
	}
	if got := metricSum(t, e, "chopsticks_economy_retries_total"); int64(got) != spanRetries {
		t.Fatalf("retries metric %v, spans say %d", got, spanRetries)
	}
	if metricSum(t, e, "chopsticks_db_query_duration_seconds") < workers*each {
		t.Fatal("query durations not observed")
	}
	t.Logf("%d pays on 2 hot accounts needed %d retries", workers*each, spanRetries)
	e.audit(t)
}

// metricSum adds a counter's values, or a histogram's sample counts.
func metricSum(t *testing.T, e *env, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				sum += float64(h.GetSampleCount())
			}
		}
	}
	return sum
}
