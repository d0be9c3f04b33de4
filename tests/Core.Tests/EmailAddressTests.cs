using AccountFunctions.Core;

namespace AccountFunctions.Core.Tests;

public sealed class EmailAddressTests
{
    [Fact]
    public void NormalizeTrimsAndLowerCases()
    {
        Assert.Equal("ann@example.test", EmailAddress.Normalize("  Ann@Example.TEST \t"));
    }

    [Fact]
    public void NormalizeComposesDecomposedCharacters()
    {
        var decomposed = "re\u0301my@example.test";
        var composed = "r\u00e9my@example.test";
        Assert.NotEqual(decomposed, composed);
        Assert.Equal(EmailAddress.Normalize(composed), EmailAddress.Normalize(decomposed));
        Assert.Equal(composed, EmailAddress.Normalize(decomposed));
    }

    [Fact]
    public void APunycodeDomainAndItsUnicodeSpellingAreOneAddress()
    {
        Assert.True(EmailAddress.IsValid("ann@xn--bcher-kva.test"));
        Assert.True(EmailAddress.IsValid("ann@b\u00fccher.test"));
        Assert.Equal(EmailAddress.Hash("ann@b\u00fccher.test"), EmailAddress.Hash("Ann@XN--BCHER-KVA.test"));
        Assert.Equal("ann@example.test", EmailAddress.Normalize("Ann@Example.test"));
    }

    // UTS #46 mapping of the domain (issue 23): what a resolver would look up is one domain.
    [Theory]
    [InlineData("ann@\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.test")]
    [InlineData("Ann@\uFF25\uFF38\uFF21\uFF2D\uFF30\uFF2C\uFF25.\uFF54\uFF45\uFF53\uFF54")]
    [InlineData("ann@example\uFF0Etest")]
    [InlineData("ann@example\u3002test")]
    [InlineData("ann@ex\u00ADample.test")]
    [InlineData("ann@EXAMPLE.test")]
    public void CompatibilityFormsOfTheDomainAreTheSameAddress(string spelling)
    {
        Assert.True(EmailAddress.IsValid(spelling));
        Assert.Equal("ann@example.test", EmailAddress.Normalize(spelling));
        Assert.Equal(EmailAddress.Hash("ann@example.test"), EmailAddress.Hash(spelling));
    }

    [Fact]
    public void AMappedUnicodeDomainKeepsItsUnicodeForm()
    {
        Assert.Equal("ann@b\u00fccher.test", EmailAddress.Normalize("ann@B\uFF35\u0308CHER.test"));
        Assert.Equal(EmailAddress.Hash("ann@xn--bcher-kva.test"), EmailAddress.Hash("ann@BU\u0308cher.test"));
    }

    [Fact]
    public void TheLocalPartIsLowerCasedAndComposedButNotCompatibilityFolded()
    {
        // Only the receiving server knows its mailboxes: a full-width local part may be another one.
        Assert.Equal("\uFF41nn@example.test", EmailAddress.Normalize("\uFF21nn@example.test"));
        Assert.NotEqual(EmailAddress.Hash("ann@example.test"), EmailAddress.Hash("\uFF41nn@example.test"));
    }

    [Theory]
    [InlineData("u@ex\uFF3Fample.test")]   // full-width low line maps to '_': not a host name
    [InlineData("u@example\uFF0E\uFF0Etest")] // an empty label once mapped
    [InlineData("u@example.test\u3002")]   // a trailing dot once mapped
    [InlineData("u@\uFF0Dexample.test")]   // a leading hyphen once mapped
    public void ADomainInvalidOnceMappedIsInvalid(string email)
    {
        Assert.False(EmailAddress.IsValid(email));
    }

    [Fact]
    public void HashIsEqualForDifferentlyCasedAndSpacedForms()
    {
        var a = EmailAddress.Hash("ann@example.test");
        Assert.Equal(a, EmailAddress.Hash("  ANN@Example.Test  "));
        Assert.Equal(a, EmailAddress.Hash("Ann@example.test"));
    }

    [Fact]
    public void HashDiffersForDifferentAddresses()
    {
        Assert.NotEqual(EmailAddress.Hash("ann@example.test"), EmailAddress.Hash("bob@example.test"));
    }

    [Fact]
    public void HashIsSixtyFourLowercaseHexCharacters()
    {
        Assert.Matches("^[0-9a-f]{64}$", EmailAddress.Hash("Ann@Example.test"));
    }

    [Fact]
    public void HashIsSha256OfNormalisedAddress()
    {
        // SHA-256("ann@example.test")
        var expected = Convert.ToHexStringLower(
            System.Security.Cryptography.SHA256.HashData("ann@example.test"u8.ToArray()));
        Assert.Equal(expected, EmailAddress.Hash(" ANN@example.test"));
    }

    [Theory]
    [InlineData("ann@example.test")]
    [InlineData("ann.smith+tag@mail.example.co.uk")]
    [InlineData("a@b.io")]
    [InlineData("first_last-1@sub.domain.test")]
    [InlineData("  ann@example.test  ")]
    public void OrdinaryAddressesAreValid(string email)
    {
        Assert.True(EmailAddress.IsValid(email));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("annexample.test")]
    [InlineData("ann@localhost")]
    [InlineData("@example.test")]
    [InlineData("ann@")]
    [InlineData("ann smith@example.test")]
    [InlineData("ann@exa mple.test")]
    [InlineData("ann\u0001@example.test")]
    [InlineData("ann@example.test\u0007")]
    [InlineData("a\n@example.test")]
    [InlineData("a@b@c.test")]
    [InlineData("Ann <a@b.test>")]
    [InlineData("Ann<a@b.test>")]
    [InlineData("\"Ann\" <a@b.test>")]
    // Spellings a mail server may take for the same mailbox as a plain one: refused (issue 15).
    [InlineData("u@example.test.")]
    [InlineData("\"u\"@example.test")]
    [InlineData("\"u@v\"@example.test")]
    [InlineData(".u@example.test")]
    [InlineData("u.@example.test")]
    [InlineData("u..v@example.test")]
    [InlineData("u@example..test")]
    [InlineData("u@.example.test")]
    [InlineData("u@[192.0.2.1]")]
    [InlineData("u@-example.test")]
    [InlineData("u(comment)@example.test")]
    [InlineData("u\\v@example.test")]
    public void MalformedAddressesAreInvalid(string email)
    {
        Assert.False(EmailAddress.IsValid(email));
    }

    [Fact]
    public void AddressOfMaxLengthIsValidAndOneLongerIsNot()
    {
        var domain = "@" + new string('d', 60) + "." + new string('e', 60) + "." + new string('f', 60) + ".test";
        var local = new string('a', 64);
        var max = local + domain;
        Assert.True(max.Length <= EmailAddress.MaxLength);
        var padded = max + new string('g', EmailAddress.MaxLength - max.Length);
        // Keep a valid shape at exactly 254 by lengthening the TLD part.
        Assert.Equal(254, padded.Length);
        Assert.True(EmailAddress.IsValid(padded));
        Assert.False(EmailAddress.IsValid(padded + "g"));
    }

    [Fact]
    public void AddressLongerThan254CharactersIsInvalid()
    {
        var email = new string('a', 64) + "@" + new string('b', 190) + ".test";
        Assert.True(email.Length > 254);
        Assert.False(EmailAddress.IsValid(email));
    }

    [Theory]
    [InlineData("alice@example.test", "a***@example.test")]
    [InlineData("Bob.Smith+tag@mail.test", "B***@mail.test")]
    [InlineData("x@y.test", "x***@y.test")]
    public void MaskKeepsOnlyFirstCharacterOfLocalPart(string email, string expected)
    {
        var masked = EmailAddress.Mask(email);
        Assert.Equal(expected, masked);
        var local = email[..email.IndexOf('@')];
        if (local.Length > 1) Assert.DoesNotContain(local[1..], masked);
    }

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("@example.test")]
    [InlineData("")]
    public void MaskOfAddressWithoutLocalPartRevealsNothing(string email)
    {
        Assert.Equal("***", EmailAddress.Mask(email));
    }

    [Fact]
    public void MaskNeverContainsLocalPartBeyondFirstCharacterEvenWithSeveralAtSigns()
    {
        var masked = EmailAddress.Mask("secret@part@example.test");
        Assert.DoesNotContain("ecret", masked);
        Assert.StartsWith("s***@", masked);
    }
}
