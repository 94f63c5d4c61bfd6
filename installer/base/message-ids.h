/* SPDX-License-Identifier: MIT */
#pragma once

/* The journal MESSAGE_IDs of the checker, the pruner and the authorization plugin: one
 * per kind of finding, all in this one place. Each has an entry in units/dind-cache.catalog (journalctl -x shows it);
 * tests/unit/test-journal.c fails when one is missing there.
 *
 * DIND_MESSAGE_IDS(X) expands X(NAME, "32 hex digits") for each; MID_NAME is the
 * string constant, e.g. MID_DISK_USAGE_HIGH. Never change an id once released:
 * operators filter on them (journalctl MESSAGE_ID=...). */

#include "base/util.h"

#define DIND_MESSAGE_IDS(X) \
        X(SETTINGS_INVALID,      "201135656a2e44318708d118ec43b085") \
        X(CHECK_ERROR,           "c3f94e46f93a4347b0c7abe596d8cf87") \
        X(DEADLINE_PASSED,       "afcec69e024c4291b1868e8eaa2fd784") \
        X(DATA_DIR_MISSING,      "ea799623d87e49c39f605c68db8718b0") \
        X(MOUNT_OK,              "81f7c894866c42e2b2bc25b3b4aff53a") \
        X(NOT_MOUNTED,           "0522cdb6e63240c9803c794bb18905ea") \
        X(FS_TYPE_OK,            "b1ba39ffb7b84e4fb03a7335aa351b2e") \
        X(FS_TYPE_UNFIT,         "19be5e761d164a7abea90b826d645e84") \
        X(DTYPE_OK,              "04f26b90bab34da8be1d9dabba029fa6") \
        X(DTYPE_MISSING,         "afc2bf0ad63c4358b91d8bdaebd3a58f") \
        X(READ_WRITE,            "403e7404668a4a4a83d682b85393cd81") \
        X(READ_ONLY,             "d635335a62b24a5790756ff489de2306") \
        X(DISK_USAGE_OK,         "ba374bb8d79d49a182a0d51faa302233") \
        X(DISK_USAGE_HIGH,       "1cc5388ef7784f2f8199fbb49d51967b") \
        X(INODES_OK,             "266f270cceb744658c494763890ef200") \
        X(INODES_HIGH,           "11044d026cb849179a3721ca671d9c47") \
        X(WRITE_OK,              "44e638505a644dc48835260c530514a8") \
        X(WRITE_SLOW,            "6f503efe4b3044acb84ca90b98f91443") \
        X(WRITE_FAILED,          "5705ff89e2ea4a66b897ef712959d413") \
        X(FS_ERRORS_NONE,        "9dba5ce4d52b42a6a41f880745c0ee7d") \
        X(FS_ERRORS,             "84999e625e4a440eaf65bdd814330d85") \
        X(DAEMON_NOT_CONFIGURED, "0b56216cf6e24fb7aa6b74048a99cedc") \
        X(DAEMON_OK,             "67289c1edc2a4316a7c21b54a399d299") \
        X(DAEMON_UNREACHABLE,    "c6f14daaf4fa49beab05cee695285a8d") \
        X(DRIVER_OK,             "69ccacdb02c74a40b1fdba07e504d948") \
        X(DRIVER_VFS,            "919b6c052e1249feb6b0a2f2f953ce6b") \
        X(DRIVER_UNEXPECTED,     "d84fd282c770430d8382d8faf2c96fde") \
        X(BACKING_FS_MISMATCH,   "c1a685f9babe46c0818ddba08a366011") \
        X(DAEMON_DTYPE_MISSING,  "f73c814592544a75ba7980bffeebcb69") \
        X(INFO_FAILED,           "d727dcce5c6a4a0792632ebd92408e38") \
        X(VERSION_OK,            "200b52baadb244f5a10c3d5700e615b8") \
        X(VERSION_FAILED,        "04b8b8b4bc09495d9468485dfe921b2d") \
        X(PRUNE_SETTINGS_INVALID, "d3f7926ca33b45ac9c534908771179e3") \
        X(PRUNE_DAEMON_ERROR,    "759f64a2049c4fd995af9d09d3f059cd") \
        X(PRUNE_CONTAINERS,      "c1fd2475e2664dc5a6317f794a79ddc0") \
        X(PRUNE_DANGLING,        "f177f1e27de74feab54feeea5f399766") \
        X(PRUNE_BUILD_CACHE,     "fe933669b2164ab5992f10b8539bf30e") \
        X(PRUNE_IMAGES,          "a2a3ecd9e54f49a28c6df821e95f02de") \
        X(PRUNE_DONE,            "8ec7a820188c40248f7310a0350b17e8") \
        X(PRUNE_STILL_HIGH,      "139a37e73e4343368f14d1bef43ef30b") \
        X(SUMMARY,               "5f8612eff0624cd68ce0bd393268e37f") \
        X(TLS_OK,                "889d813b7f8f43ecb7ef2ba22604c1b3") \
        X(TLS_FAILED,            "df6010b01c864300807fb6a896fabc16") \
        X(TLS_PLAINTEXT,         "ea48071d0a544aeaa8c5f7b4b8387208") \
        X(CERT_OK,               "398566070a25431fbafad5d5b0012b42") \
        X(CERT_EXPIRING,         "13320702b8284f29aa60461c8290f416") \
        X(CERT_EXPIRED,          "a8ac268e4d804d679add092ee8984708") \
        X(CERT_UNREADABLE,       "8e2e2735dd194663b6266dc418aba4ab") \
        X(AUTHZ_DENIED,          "3c949671df334ab7af073450d35149ba") \
        X(CACHE_OK,              "a4d4f1080b1348dcbd81723c5ade060e") \
        X(CACHE_FAILED,          "569f7097f69a412da2ffa05c116d5531") \
        X(CACHE_SKIPPED,         "ca812529a58e49d1b72731e9e8210f01") \
        X(AUTHZ_OK,              "aa4ae9ef8e7146a2bef15d99becdbf98") \
        X(AUTHZ_LEFT_OUT,        "d0bdade814524ff5bbb8582b1a623440") \
        X(AUTHZ_UNREACHABLE,     "b3516f16443d4ecf8628bf5bb2a1d071") \
        X(AUTHZ_BROKEN,          "6f446eeb64fa40389e3bf2d3795a4fc8") \
        X(AUTHZ_NOT_USED,        "88a944ea20c84ae1813bdb7b109c1072")

#define _DIND_MID_DEFINE(name, id) static const char MID_##name[] _unused_ = id;
DIND_MESSAGE_IDS(_DIND_MID_DEFINE)
#undef _DIND_MID_DEFINE
