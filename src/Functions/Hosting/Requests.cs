namespace AccountFunctions.Functions.Hosting;

/// <summary>The body of the requests that carry only an address: resend verification, magic link, forgot password.</summary>
public sealed record EmailRequest(string? Email);
