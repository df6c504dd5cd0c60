using System.Net;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// In Azure the Meta secrets are Key Vault references; one App Service cannot resolve (the secret not there yet, the
/// vault role not yet in effect) keeps its own text, <c>@Microsoft.KeyVault(SecretUri=…)</c>, which anyone can guess.
/// Such a value is treated as no secret: Meta's webhook is refused, never verified with the reference's text.
/// </summary>
public sealed class UnresolvedSecretReferenceTests
{
    private const string Reference = "@Microsoft.KeyVault(SecretUri=https://kv-aisoule-abc.vault.azure.net/secrets/whatsapp-app-secret/)";

    [Fact]
    public async Task A_webhook_signed_with_the_text_of_an_unresolved_app_secret_reference_is_refused()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:AppSecret"] = Reference });
        var body = MetaWebhook.Inbound("106540352242922", "14155550123", "wamid.REF" + Guid.NewGuid().ToString("N"), "hi");

        var response = await MetaWebhook.PostAsync(host.Client, body, WebhookSignature.Sign(System.Text.Encoding.UTF8.GetBytes(body), Reference));

        await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_signature");
    }

    [Fact]
    public async Task The_subscribe_handshake_with_the_text_of_an_unresolved_verify_token_reference_is_refused()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:VerifyToken"] = Reference });

        var response = await host.Client.GetAsync("whatsapp/webhook?hub.mode=subscribe&hub.verify_token=" + Uri.EscapeDataString(Reference) + "&hub.challenge=42");

        await Envelope.ErrorAsync(response, HttpStatusCode.Forbidden, "verification_failed");
    }

    [Fact]
    public async Task An_owner_password_that_is_an_unresolved_reference_stops_the_start_naming_it()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["AISOULE_OWNER_EMAIL"] = "owner@example.com",
            ["AISOULE_OWNER_PASSWORD"] = Reference,
        }));

        Assert.Contains("AISOULE_OWNER_PASSWORD", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Reference, true)]
    [InlineData("  @microsoft.keyvault(VaultName=v;SecretName=s)", true)]
    [InlineData("a real secret", false)]
    [InlineData(null, false)]
    public void A_value_is_an_unresolved_reference_only_when_it_is_one(string? value, bool unresolved) =>
        Assert.Equal(unresolved, UnresolvedReference.Is(value));
}
