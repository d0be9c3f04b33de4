using System.ComponentModel.DataAnnotations;

namespace AccountFunctions.Core;

// Rules for option properties that the checks at start cannot infer from the type. Without one,
// a TimeSpan must be positive and an int at least 1 (Functions/Hosting/SettingsValidation).

/// <summary>A time span where zero means something (usually: off); negative is still refused.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ZeroAllowedAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) => value is not TimeSpan t || t >= TimeSpan.Zero;
    public override string FormatErrorMessage(string name) => $"{name} must be a time span of zero or more (d.hh:mm:ss).";
}

/// <summary>One of a few words, compared as the code reading the setting compares them.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOfAttribute(params string[] values) : ValidationAttribute
{
    public bool IgnoreCase { get; init; } = true;

    public override bool IsValid(object? value) => value is null
        || value is string s && values.Contains(s, IgnoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    public override string FormatErrorMessage(string name) => $"{name} must be {string.Join(" or ", values.Select(v => $"'{v}'"))}.";
}

/// <summary>An absolute http(s) URL, or with <see cref="List"/> a comma-separated list of them; empty counts as unset.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AbsoluteUrlAttribute : ValidationAttribute
{
    public bool List { get; init; }

    public override bool IsValid(object? value)
    {
        if (value is not string s || string.IsNullOrWhiteSpace(s)) return true;
        var entries = List ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [s.Trim()];
        return entries.All(e => Uri.TryCreate(e, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp));
    }

    public override string FormatErrorMessage(string name) =>
        $"{name} must be {(List ? "a comma-separated list of absolute http(s) URLs" : "an absolute http(s) URL")}.";
}
