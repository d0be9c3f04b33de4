using System.Reflection;
using System.Text.RegularExpressions;
using AccountFunctions.Core;

namespace AccountFunctions.Core.Tests;

public sealed class ErrorsTests
{
    private static IEnumerable<(string Name, Error Error)> AllErrors()
    {
        var fields = typeof(Errors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(Error))
            .Select(f => (f.Name, (Error)f.GetValue(null)!));
        var factories = new (string, Error)[]
        {
            (nameof(Errors.Validation), Errors.Validation("field", "message")),
            (nameof(Errors.WeakPassword), Errors.WeakPassword("message")),
            (nameof(Errors.TooManyRequests), Errors.TooManyRequests(TimeSpan.FromSeconds(30))),
        };
        return fields.Concat(factories);
    }

    [Fact]
    public void ReflectionFindsTheStaticErrorFields()
    {
        var names = typeof(Errors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(Error)).Select(f => f.Name).ToList();
        Assert.Contains(nameof(Errors.InvalidCredentials), names);
        Assert.Contains(nameof(Errors.StorageUnavailable), names);
        Assert.True(names.Count >= 10, $"only {names.Count} fields found");
    }

    [Fact]
    public void EveryFactoryMethodIsCovered()
    {
        var factories = typeof(Errors).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(Error)).Select(m => m.Name).Distinct().Order().ToList();
        Assert.Equal(
            new[] { nameof(Errors.TooManyRequests), nameof(Errors.Validation), nameof(Errors.WeakPassword) }.Order(),
            factories);
    }

    [Fact]
    public void EveryErrorCodeIsUnique()
    {
        var duplicates = AllErrors().GroupBy(e => e.Error.Code).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}").ToList();
        Assert.Empty(duplicates);
    }

    [Fact]
    public void EveryErrorCodeIsSnakeCase()
    {
        var bad = AllErrors().Where(e => !Regex.IsMatch(e.Error.Code, "^[a-z]+(_[a-z]+)*$"))
            .Select(e => $"{e.Name}={e.Error.Code}").ToList();
        Assert.Empty(bad);
    }

    [Fact]
    public void EveryErrorHasClientOrServerErrorStatus()
    {
        var bad = AllErrors().Where(e => e.Error.Status is < 400 or > 599)
            .Select(e => $"{e.Name}={e.Error.Status}").ToList();
        Assert.Empty(bad);
    }

    [Fact]
    public void EveryErrorHasATitle()
    {
        Assert.All(AllErrors(), e => Assert.False(string.IsNullOrWhiteSpace(e.Error.Title), e.Name));
    }

    [Fact]
    public void TooManyRequestsCarriesRetryAfterAnd429()
    {
        var error = Errors.TooManyRequests(TimeSpan.FromSeconds(42));
        Assert.Equal(429, error.Status);
        Assert.Equal(TimeSpan.FromSeconds(42), error.RetryAfter);
    }

    [Fact]
    public void ValidationCarriesFieldMessages()
    {
        var error = Errors.Validation("email", "Bad email.");
        Assert.Equal("validation_failed", error.Code);
        Assert.NotNull(error.Errors);
        Assert.Equal(["Bad email."], error.Errors["email"]);
    }

    [Fact]
    public void ResultIsOkForValueAndNotForError()
    {
        Result<int> ok = 5;
        Result<int> failed = Errors.NotFound;
        Assert.True(ok.Ok);
        Assert.Equal(5, ok.Value);
        Assert.False(failed.Ok);
        Assert.Same(Errors.NotFound, failed.Error);
    }
}
