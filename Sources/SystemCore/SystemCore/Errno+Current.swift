import CSystemShim

/// The calling thread's errno, read through the C shim (Glibc's macro is not importable).
@inline(__always)
public func currentErrno() -> Int32 { sl_errno() }
