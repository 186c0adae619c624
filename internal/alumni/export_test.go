package alumni

// SetProbeLimit changes how many matches make a filter common (see plan), for tests.
func (s *Store) SetProbeLimit(n int) { s.probeLimit = n }
