package listing

// SetProbeLimit changes how many matches make a filter common (see plan), for tests.
func (s *Reader) SetProbeLimit(n int) { s.probeLimit = n }
