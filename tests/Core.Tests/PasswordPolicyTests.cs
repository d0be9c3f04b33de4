using AccountFunctions.Core;
using AccountFunctions.Core.Security;

namespace AccountFunctions.Core.Tests;

public sealed class PasswordPolicyTests
{
    private const string Email = "ann.example@mail.test";

    [Fact]
    public void SevenCharactersAreRefusedAsWeak()
    {
        var error = PasswordPolicy.Check("kq7#vZp", Email);
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
        Assert.Equal(400, error.Status);
        Assert.NotNull(error.Errors);
        Assert.True(error.Errors.ContainsKey("password"));
    }

    [Fact]
    public void EightCharactersAreAccepted()
    {
        Assert.Null(PasswordPolicy.Check("kq7#vZp2", Email));
    }

    [Fact]
    public void TwoHundredFiftySixCharactersAreAccepted()
    {
        var password = string.Concat(Enumerable.Repeat("kq7#vZp2", 32));
        Assert.Equal(256, password.Length);
        Assert.Null(PasswordPolicy.Check(password, Email));
    }

    [Fact]
    public void TwoHundredFiftySevenCharactersAreRefused()
    {
        var password = string.Concat(Enumerable.Repeat("kq7#vZp2", 32)) + "x";
        Assert.Equal(257, password.Length);
        var error = PasswordPolicy.Check(password, Email);
        Assert.NotNull(error);
        Assert.Equal("validation_failed", error.Code);
    }

    [Fact]
    public void EightEmojiAreAcceptedBecauseLengthCountsScalarValues()
    {
        var password = "😀🐙🚀🎲🌵🍋🦊🎻";
        Assert.Equal(16, password.Length); // UTF-16 code units
        Assert.Null(PasswordPolicy.Check(password, Email));
    }

    [Fact]
    public void SevenEmojiAreRefusedEvenThoughFourteenUtf16Units()
    {
        var password = "😀🐙🚀🎲🌵🍋🦊";
        Assert.Equal(14, password.Length);
        var error = PasswordPolicy.Check(password, Email);
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Fact]
    public void TwoHundredFiftySixEmojiAreAcceptedAndTwoHundredFiftySevenRefused()
    {
        var ok = string.Concat(Enumerable.Repeat("😀🐙🚀🎲🌵🍋🦊🎻", 32));
        Assert.Equal(512, ok.Length);
        Assert.Null(PasswordPolicy.Check(ok, Email));
        Assert.Equal("validation_failed", PasswordPolicy.Check(ok + "🎻", Email)?.Code);
    }

    [Theory]
    [InlineData("Password123")]
    [InlineData("QWERTYUIOP")]
    [InlineData("password123")]
    [InlineData("qwertyuiop")]
    [InlineData("PaSsWoRd123")]
    public void CommonPasswordsAreRefusedCaseInsensitively(string password)
    {
        var error = PasswordPolicy.Check(password, Email);
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Theory]
    [InlineData("ann.example@mail.test")]
    [InlineData("ANN.Example@Mail.TEST")]
    [InlineData("  ann.example@mail.test  ")]
    public void PasswordEqualToEmailIsRefused(string password)
    {
        var error = PasswordPolicy.Check(password, Email);
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Fact]
    public void PasswordEqualToEmailEnteredWithSpacesAndCapitalsIsRefused()
    {
        var error = PasswordPolicy.Check("ann.example@mail.test", "  Ann.Example@MAIL.test ");
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Fact]
    public void PasswordIdenticalToEmailWithCompatibilityCharacterIsRefused()
    {
        var email = "\uFB01ona.smith@mail.test";
        Assert.True(EmailAddress.IsValid(email));
        var error = PasswordPolicy.Check(email, email);
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Fact]
    public void FullWidthSpellingOfEmailIsRefusedAfterNfkc()
    {
        var error = PasswordPolicy.Check("\uFF41nn.example@mail.test", Email); // U+FF41 FULLWIDTH a
        Assert.NotNull(error);
        Assert.Equal("weak_password", error.Code);
    }

    [Fact]
    public void PasswordMerelyContainingEmailIsAccepted()
    {
        Assert.Null(PasswordPolicy.Check("ann.example@mail.test!x", Email));
    }

    [Fact]
    public void NullEmailSkipsEmailComparison()
    {
        Assert.Null(PasswordPolicy.Check("ann.example@mail.test", null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void MissingPasswordIsValidationFailure(string? password)
    {
        var error = PasswordPolicy.Check(password, Email);
        Assert.NotNull(error);
        Assert.Equal("validation_failed", error.Code);
        Assert.Equal(400, error.Status);
        Assert.NotNull(error.Errors);
        Assert.True(error.Errors.ContainsKey("password"));
    }
}
