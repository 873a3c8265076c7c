//! (filled in by the tenant-isolation work)
