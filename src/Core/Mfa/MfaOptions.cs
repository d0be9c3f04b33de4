namespace AccountFunctions.Core.Mfa;

/// <summary>Settings section <c>Mfa</c>.</summary>
public sealed class MfaOptions
{
    /// <summary>The issuer shown by authenticator apps (the otpauth URI's label prefix and <c>issuer</c>).</summary>
    public string Issuer { get; set; } = "Account Functions";
    /// <summary>Life of the mfaToken that a right password (or email sign-in) hands out when MFA is on.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
