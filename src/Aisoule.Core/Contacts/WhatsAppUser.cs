namespace Aisoule.Core.Contacts;

/// <summary>
/// A WhatsApp user as Meta's webhook names them: the phone (E.164) when Meta shares it, the business-scoped user id
/// (BSUID) it always sends now, and what it shows of them. At least one of <see cref="Phone"/> and <see cref="UserId"/>.
/// </summary>
public sealed record WhatsAppUser(string? Phone, string? UserId, string? ParentUserId = null, string? Username = null, string? Name = null);
