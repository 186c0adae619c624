package httpapi

import "time"

// SetEventsTimings shortens the events connection's timings for a test and returns a function
// that restores them.
func SetEventsTimings(auth, write, ping, recheck time.Duration) (restore func()) {
	a, w, p, r := eventsAuthTimeout, eventsWriteTimeout, eventsPingInterval, eventsSessionRecheck
	eventsAuthTimeout, eventsWriteTimeout, eventsPingInterval, eventsSessionRecheck = auth, write, ping, recheck
	return func() {
		eventsAuthTimeout, eventsWriteTimeout, eventsPingInterval, eventsSessionRecheck = a, w, p, r
	}
}
