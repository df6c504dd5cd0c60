using Aisoule.Functions.Hosting;
using Azure.Identity;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>Exporting to an Application Insights resource that accepts only Entra tokens (local auth off, as infra/ deploys it).</summary>
public sealed class TelemetryAuthenticationTests
{
    [Fact]
    public void Without_an_authentication_string_the_exporter_uses_the_connection_strings_key() =>
        Assert.Null(TelemetryServiceCollectionExtensions.EntraCredential(null));

    [Theory]
    [InlineData("Authorization=AAD;ClientId=6b0b5a4e-2a8e-4f2b-9d37-0f1c2a3b4c5d")]
    [InlineData("Authorization=AAD")]
    [InlineData(" authorization = aad ")]
    public void An_entra_authentication_string_makes_the_exporter_use_a_managed_identity(string authentication) =>
        Assert.IsType<ManagedIdentityCredential>(TelemetryServiceCollectionExtensions.EntraCredential(authentication));

    [Theory]
    [InlineData("Authorization=Key")]
    [InlineData("ClientId=6b0b5a4e-2a8e-4f2b-9d37-0f1c2a3b4c5d")]
    [InlineData("Authorization=AAD;ClientId=not-a-guid")]
    public void An_authentication_string_that_cannot_work_stops_the_start_naming_the_setting(string authentication) =>
        Assert.Contains("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", Assert.Throws<InvalidOperationException>(() => TelemetryServiceCollectionExtensions.EntraCredential(authentication)).Message, StringComparison.Ordinal);
}
