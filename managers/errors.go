package managers

// Besides a *Refusal (a command line phylum-box will not run, exit 2), the host
// callbacks of a plan (Steps.Resolved, Steps.ResolveOutput) say why what a step
// left cannot be used with these plain types; cmd and the orchestration map them
// to exit codes, managers never do.

// UnusableResult: what a step left (its output, the lockfile it wrote) cannot be
// read as a resolution, so the precheck cannot decide (exit 5).
type UnusableResult struct{ Err error }

func (e *UnusableResult) Error() string { return e.Err.Error() }
func (e *UnusableResult) Unwrap() error { return e.Err }

// ForbiddenWrite: a step wrote where it may not (exit 4).
type ForbiddenWrite struct{ Err error }

func (e *ForbiddenWrite) Error() string { return e.Err.Error() }
func (e *ForbiddenWrite) Unwrap() error { return e.Err }

// InvalidProject: a project file a callback reads does not parse (exit 2).
type InvalidProject struct{ Err error }

func (e *InvalidProject) Error() string { return e.Err.Error() }
func (e *InvalidProject) Unwrap() error { return e.Err }
