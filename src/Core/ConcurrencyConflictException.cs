namespace AccountFunctions.Core;

/// <summary>
/// A row kept changing under an ETag-checked update until the retries ran out: contention, not a
/// bug. The app answers 409 <c>concurrent_update</c> with Retry-After instead of a 500.
/// </summary>
public sealed class ConcurrencyConflictException(string message) : Exception(message);
