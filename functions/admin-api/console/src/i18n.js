// Chinese first; English switchable from the header (remembered in localStorage).
import { createI18n } from 'vue-i18n'

const zh = {
  app: { title: '直播课程通知', subtitle: '管理后台', logout: '退出登录', language: 'English', scope: '可管理的公众号' },
  menu: {
    live: '直播通知管理', courses: '直播课程', followers: '直播用户 / 关注用户', deliveries: '通知记录',
    pushes: '推送任务', accounts: '公众号', admins: '管理员与角色', syncRuns: '同步记录', audit: '操作日志',
    deadLetters: '死信队列', system: '系统管理',
  },
  common: {
    search: '搜索', reset: '重置', create: '新建', edit: '编辑', delete: '删除', save: '保存', cancel: '取消',
    confirm: '确定', actions: '操作', refresh: '刷新', loadMore: '加载更多', loading: '加载中…', empty: '暂无数据',
    retry: '重试', export: '导出', detail: '详情', all: '全部', yes: '是', no: '否', close: '关闭', from: '开始',
    to: '结束', status: '状态', time: '时间', account: '公众号', success: '操作成功', deleted: '已删除',
    deleteConfirm: '确定删除吗？此操作不可恢复。', noPermission: '当前角色无此权限', notAvailable: '此功能的接口尚未部署到当前服务器',
    total: '共 {n} 条', selected: '已选 {n} 条', download: '下载', copy: '复制',
  },
  login: { title: '登录管理后台', username: '用户名', password: '密码', submit: '登录', expired: '登录已过期，请重新登录', ended: '登录已失效（已退出登录，或密码、角色、公众号范围已变更），请重新登录', required: '请输入用户名和密码' },
  course: {
    title: '课程名称', speaker: '讲者', description: '简介', startsAt: '开始时间', endsAt: '结束时间', liveUrl: '直播地址',
    coverUrl: '封面图片地址', requiredAccount: '需先关注的公众号', none: '无（不限制）', templates: '模板消息', templateId: '模板 ID',
    fields: '模板字段', fieldsHint: "每行一个：字段名=内容，可用 {'{title}'} {'{speaker}'} {'{start_time}'} {'{live_url}'} 等占位符",
    reminder: '开课前提醒（分钟）', reminderHint: '可选多个，如 1440（提前一天）、15，也可直接输入分钟数', reminderAt: '提前 {m} 分钟', permanentQr: '使用永久二维码', status: '状态', phase: '进度', qr: '二维码', push: '推送',
    searchPlaceholder: '搜索课程名称或讲者', startRange: '开始时间范围', createTitle: '新建课程', editTitle: '编辑课程',
    deleteConfirm: '确定删除课程「{title}」吗？已发送的推送与通知记录会保留。', qrError: '二维码生成失败', pushes: '推送记录',
  },
  signup: { button: '报名用户', title: '报名用户', total: '共', allAccounts: '全部公众号', empty: '还没有人报名', account: '公众号', source: '来源', at: '报名时间' },
  courseStatus: { draft: '草稿', published: '已发布', cancelled: '已取消' },
  phase: { upcoming: '未开始', live: '直播中', ended: '已结束' },
  qr: {
    title: '课程二维码', landing: '落地页二维码', notReady: '二维码生成中，请稍候…', regenerate: '重新生成', regenerated: '已提交重新生成',
    png: '下载 PNG', svg: '下载 SVG', expires: '有效期至', permanent: '永久', content: '内容',
  },
  push: {
    title: '推送课程通知', accounts: '推送公众号', audience: '推送对象', channel: '发送渠道', schedule: '发送时间', now: '立即发送',
    at: '定时发送', beforeStart: '开课前', minutes: '分钟', tagId: '标签 ID', openids: 'openid 列表（每行一个）',
    preview: '预览消息', previewEmpty: '选择公众号后点击“预览消息”', testSend: '测试发送', testOpenid: '测试 openid',
    testSent: '测试消息已发送（msgid {msgid}）', testSentNoMsgid: '测试消息已发送（该渠道不返回 msgid）', submit: '开始推送', created: '已创建 {n} 个推送任务', detail: '推送详情',
    progress: '发送进度', stats: '发送结果', cancel: '取消推送', cancelConfirm: '确定取消这个推送吗？未发送的消息不会再发送。',
    createdBy: '创建人', startedAt: '开始时间', finishedAt: '完成时间', reason: '原因', counters: '统计', deliveries: '通知记录',
    live: '实时更新中', done: '推送已完成', failed: '推送失败', chartTitle: '送达结果', awaitingReceipts: '正在接收微信送达回执…', failuresByReason: '失败原因',
  },
  audience: { all_followers: '全部关注用户', signed_up: '扫码报名的用户', tag: '微信标签', openid_list: '上传 openid 列表' },
  channel: { template: '模板消息', subscribe: '订阅通知', mini_program_subscribe: '小程序订阅消息', customer_service: '客服消息', wecom: '企业微信' },
  pushStatus: { pending: '等待中', running: '发送中', paused: '已暂停', completed: '已完成', failed: '失败', cancelled: '已取消' },
  counters: { targeted: '目标人数', sent: '已发送', delivered: '已送达', user_blocked: '用户拒收', skipped: '已跳过', failed: '失败' },
  deliveryStatus: { sending: '发送中', sent: '已发送', delivered: '已送达', user_blocked: '用户拒收', system_failed: '系统失败', skipped: '已跳过', failed: '失败' },
  delivery: {
    course: '课程', chooseCourse: '请选择课程', openid: 'openid', msgid: 'msgid', attempts: '尝试次数', error: '错误',
    createdAt: '创建时间', bulkDelete: '批量删除', bulkConfirm: '确定删除选中的 {n} 条通知记录吗？', push: '推送任务',
  },
  follower: {
    openid: 'openid', unionid: 'unionid', subscribed: '关注状态', following: '已关注', unfollowed: '已取消关注', subscribeTime: '关注时间',
    remark: '备注', tags: '标签', scene: '关注来源', muted: '已退订通知', lastInteraction: '最近互动', syncedAt: '同步时间',
    syncNow: '立即同步', syncing: '同步中…', syncDone: '同步完成：共 {total} 人，新增 {added}，更新 {updated}，取消关注 {unsubscribed}',
    syncFailed: '同步失败：{error}', syncQueued: '同步已提交，等待开始…', deliveries: '该用户的通知记录（全部课程）', chooseAccount: '请选择公众号', findOpenid: '按 openid 查找用户及其全部通知记录', find: '查找', notFound: '该公众号没有这个 openid 的用户',
    remarkPlaceholder: '备注包含', tagPlaceholder: '标签 ID',
  },
  account: {
    id: 'ID', name: '名称', kind: '类型', appid: 'AppID', originalId: '原始 ID', callbackMode: '消息加解密方式', followers: '关注人数',
    appSecret: 'AppSecret', token: 'Token', aesKey: 'EncodingAESKey', agentId: '企业微信应用 ID', followUrl: '关注链接',
    createTitle: '添加公众号', editTitle: '修改公众号', secretHint: '留空表示不修改', viewFollowers: '关注用户', keywords: '关键词回复', keywordsHint: '每行一个：关键词=回复内容',
  },
  verify: {
    button: '域名校验文件', title: '网页授权域名校验文件', help: '微信公众平台「网页授权域名」要求在域名根目录放置校验文件：在此上传从微信后台下载的 MP_verify_*.txt，平台即在该地址提供。',
    file: '选择文件', name: '文件名', content: '文件内容', url: '访问地址', none: '尚未上传校验文件', removed: '已删除校验文件', removeConfirm: '删除后微信将无法再校验该域名，确定删除？',
  },
  kind: { service: '服务号', subscription: '订阅号', mini_program: '小程序', wecom: '企业微信' },
  mode: { plaintext: '明文模式', compatible: '兼容模式', safe: '安全模式' },
  admin: {
    username: '用户名', displayName: '姓名', role: '角色', accounts: '可管理的公众号', disabled: '已停用', locked: '锁定至',
    password: '密码', newPassword: '新密码（留空不修改）', unlock: '解锁', createTitle: '新建管理员', editTitle: '修改管理员',
    roleHelp: '超级管理员：全部权限；运营：管理所选公众号的课程、推送、记录与同步；只读：只能查看和导出',
  },
  role: { super_admin: '超级管理员', operator: '运营', viewer: '只读' },
  sync: { account: '公众号', trigger: '触发方式', status: '状态', startedAt: '开始时间', finishedAt: '完成时间', counts: '统计', error: '错误' },
  trigger: { schedule: '每日定时', manual: '手动' },
  syncStatus: { running: '进行中', completed: '已完成', paused: '已暂停', failed: '失败' },
  audit: { at: '时间', actor: '操作人', action: '操作', target: '对象', outcome: '结果', details: '详情' },
  outcome: { allowed: '成功', refused: '被拒绝', failed: '失败', succeeded: '成功', denied: '被拒绝' },
  dead: {
    queue: '队列', body: '消息内容', receiveCount: '接收次数', firstReceived: '首次接收', redrive: '全部重新投递',
    redriveConfirm: '把 {queue} 死信队列中的全部消息移回原队列？', moved: '已重新投递 {n} 条消息',
  },
  queue: { push: '推送', qr: '二维码', sync: '同步', export: '导出' },
  export: {
    title: '导出', csv: 'CSV', xlsx: 'Excel (XLSX)', running: '正在导出…', done: '导出完成：{rows} 行', failed: '导出失败：{error}',
    download: '下载文件', waiting: '导出任务排队中…',
  },
  validation: { required: '必填', tooLong: '最多 {n} 个字', url: '请输入 http(s) 开头的地址', endAfterStart: '结束时间须晚于开始时间', fieldsFormat: '格式：字段名=内容' },
}

const en = {
  app: { title: 'Live course notifications', subtitle: 'Admin console', logout: 'Log out', language: '中文', scope: 'Accounts' },
  menu: {
    live: 'Live notifications', courses: 'Courses', followers: 'Followers', deliveries: 'Notification records', pushes: 'Pushes',
    accounts: 'Accounts', admins: 'Admins & roles', syncRuns: 'Sync history', audit: 'Audit log', deadLetters: 'Dead letters', system: 'System',
  },
  common: {
    search: 'Search', reset: 'Reset', create: 'New', edit: 'Edit', delete: 'Delete', save: 'Save', cancel: 'Cancel', confirm: 'OK',
    actions: 'Actions', refresh: 'Refresh', loadMore: 'Load more', loading: 'Loading…', empty: 'Nothing here yet', retry: 'Retry',
    export: 'Export', detail: 'Details', all: 'All', yes: 'Yes', no: 'No', close: 'Close', from: 'From', to: 'To', status: 'Status',
    time: 'Time', account: 'Account', success: 'Done', deleted: 'Deleted', deleteConfirm: 'Delete? This cannot be undone.',
    noPermission: 'Your role may not do this', notAvailable: 'This feature is not deployed on this server yet', total: '{n} in total',
    selected: '{n} selected', download: 'Download', copy: 'Copy',
  },
  login: { title: 'Sign in', username: 'Username', password: 'Password', submit: 'Sign in', expired: 'Your session expired, please sign in again', ended: 'Your session was ended (signed out, or password, role or accounts changed); please sign in again', required: 'Enter username and password' },
  course: {
    title: 'Title', speaker: 'Speaker', description: 'Description', startsAt: 'Starts', endsAt: 'Ends', liveUrl: 'Live room URL',
    coverUrl: 'Cover image URL', requiredAccount: 'Must follow', none: 'None', templates: 'Template messages', templateId: 'Template id',
    fields: 'Fields', fieldsHint: "One per line: name=content; placeholders {'{title}'} {'{speaker}'} {'{start_time}'} {'{live_url}'} …",
    reminder: 'Reminder (minutes before)', reminderHint: 'Several allowed, e.g. 1440 (a day before) and 15; type any number of minutes', reminderAt: '{m} minutes before', permanentQr: 'Permanent QR codes', status: 'Status', phase: 'Phase', qr: 'QR', push: 'Push',
    searchPlaceholder: 'Title or speaker', startRange: 'Start time', createTitle: 'New course', editTitle: 'Edit course',
    deleteConfirm: 'Delete course "{title}"? Sent pushes and records are kept.', qrError: 'QR generation failed', pushes: 'Pushes',
  },
  signup: { button: 'Sign-ups', title: 'Sign-ups', total: 'Total', allAccounts: 'All accounts', empty: 'Nobody has signed up yet', account: 'Account', source: 'Source', at: 'Signed up' },
  courseStatus: { draft: 'Draft', published: 'Published', cancelled: 'Cancelled' },
  phase: { upcoming: 'Upcoming', live: 'Live', ended: 'Ended' },
  qr: {
    title: 'Course QR codes', landing: 'Landing page code', notReady: 'Generating QR codes…', regenerate: 'Regenerate', regenerated: 'Regeneration queued',
    png: 'PNG', svg: 'SVG', expires: 'Expires', permanent: 'Permanent', content: 'Content',
  },
  push: {
    title: 'Push course notification', accounts: 'Accounts', audience: 'Audience', channel: 'Channel', schedule: 'When', now: 'Now',
    at: 'At a time', beforeStart: 'Before start', minutes: 'minutes', tagId: 'Tag id', openids: 'Openids (one per line)',
    preview: 'Preview', previewEmpty: 'Choose an account and press Preview', testSend: 'Test send', testOpenid: 'Test openid',
    testSent: 'Test message sent (msgid {msgid})', testSentNoMsgid: 'Test message sent (this channel returns no msgid)', submit: 'Start push', created: '{n} push job(s) created', detail: 'Push detail',
    progress: 'Progress', stats: 'Results', cancel: 'Cancel push', cancelConfirm: 'Cancel this push? Unsent messages will not be sent.',
    createdBy: 'Created by', startedAt: 'Started', finishedAt: 'Finished', reason: 'Reason', counters: 'Counters', deliveries: 'Records',
    live: 'Live updating', done: 'Push completed', failed: 'Push failed', chartTitle: 'Delivery results', awaitingReceipts: 'receiving WeChat delivery receipts…', failuresByReason: 'Failures by reason',
  },
  audience: { all_followers: 'All followers', signed_up: 'Signed up by QR', tag: 'WeChat tag', openid_list: 'Openid list' },
  channel: { template: 'Template message', subscribe: 'Subscription message', mini_program_subscribe: 'Mini program subscription', customer_service: 'Customer service', wecom: 'WeCom' },
  pushStatus: { pending: 'Pending', running: 'Running', paused: 'Paused', completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled' },
  counters: { targeted: 'Targeted', sent: 'Sent', delivered: 'Delivered', user_blocked: 'Blocked by user', skipped: 'Skipped', failed: 'Failed' },
  deliveryStatus: { sending: 'Sending', sent: 'Sent', delivered: 'Delivered', user_blocked: 'Blocked by user', system_failed: 'System failed', skipped: 'Skipped', failed: 'Failed' },
  delivery: {
    course: 'Course', chooseCourse: 'Choose a course', openid: 'openid', msgid: 'msgid', attempts: 'Attempts', error: 'Error',
    createdAt: 'Created', bulkDelete: 'Delete selected', bulkConfirm: 'Delete the {n} selected records?', push: 'Push',
  },
  follower: {
    openid: 'openid', unionid: 'unionid', subscribed: 'Following', following: 'Following', unfollowed: 'Unfollowed', subscribeTime: 'Followed at',
    remark: 'Remark', tags: 'Tags', scene: 'Source', muted: 'Muted', lastInteraction: 'Last interaction', syncedAt: 'Synced',
    syncNow: 'Sync now', syncing: 'Syncing…', syncDone: 'Sync done: {total} total, {added} added, {updated} updated, {unsubscribed} unfollowed',
    syncFailed: 'Sync failed: {error}', syncQueued: 'Sync queued, waiting to start…', deliveries: 'Records of this user', chooseAccount: 'Choose an account', findOpenid: 'Find a person and all their records by openid', find: 'Find', notFound: 'No such openid on this account',
    remarkPlaceholder: 'Remark contains', tagPlaceholder: 'Tag id',
  },
  account: {
    id: 'ID', name: 'Name', kind: 'Kind', appid: 'AppID', originalId: 'Original id', callbackMode: 'Encryption mode', followers: 'Followers',
    appSecret: 'AppSecret', token: 'Token', aesKey: 'EncodingAESKey', agentId: 'WeCom agent id', followUrl: 'Follow URL',
    createTitle: 'New account', editTitle: 'Edit account', secretHint: 'Leave empty to keep', viewFollowers: 'Followers', keywords: 'Keyword replies', keywordsHint: 'One per line: keyword=reply',
  },
  verify: {
    button: 'Domain file', title: 'Domain verification file', help: "WeChat's OAuth domain setting asks for a verification file at the domain root: upload the MP_verify_*.txt from WeChat's console and the platform serves it there.",
    file: 'Choose file', name: 'File name', content: 'Content', url: 'Served at', none: 'No verification file yet', removed: 'Verification file removed', removeConfirm: 'WeChat can no longer verify the domain once it is removed. Remove it?',
  },
  kind: { service: 'Service account', subscription: 'Subscription account', mini_program: 'Mini program', wecom: 'WeCom' },
  mode: { plaintext: 'Plaintext', compatible: 'Compatible', safe: 'Safe' },
  admin: {
    username: 'Username', displayName: 'Name', role: 'Role', accounts: 'Accounts', disabled: 'Disabled', locked: 'Locked until',
    password: 'Password', newPassword: 'New password (empty: keep)', unlock: 'Unlock', createTitle: 'New admin', editTitle: 'Edit admin',
    roleHelp: 'Super admin: everything; operator: courses, pushes, records and syncs of chosen accounts; viewer: read and export',
  },
  role: { super_admin: 'Super admin', operator: 'Operator', viewer: 'Viewer' },
  sync: { account: 'Account', trigger: 'Trigger', status: 'Status', startedAt: 'Started', finishedAt: 'Finished', counts: 'Counts', error: 'Error' },
  trigger: { schedule: 'Nightly', manual: 'Manual' },
  syncStatus: { running: 'Running', completed: 'Completed', paused: 'Paused', failed: 'Failed' },
  audit: { at: 'Time', actor: 'Actor', action: 'Action', target: 'Target', outcome: 'Outcome', details: 'Details' },
  outcome: { allowed: 'OK', refused: 'Refused', failed: 'Failed', succeeded: 'OK', denied: 'Refused' },
  dead: {
    queue: 'Queue', body: 'Body', receiveCount: 'Receives', firstReceived: 'First received', redrive: 'Redrive all',
    redriveConfirm: 'Move every message of the {queue} dead-letter queue back?', moved: '{n} message(s) moved back',
  },
  queue: { push: 'Push', qr: 'QR', sync: 'Sync', export: 'Export' },
  export: {
    title: 'Export', csv: 'CSV', xlsx: 'Excel (XLSX)', running: 'Exporting…', done: 'Export ready: {rows} rows', failed: 'Export failed: {error}',
    download: 'Download', waiting: 'Export queued…',
  },
  validation: { required: 'Required', tooLong: 'At most {n} characters', url: 'Must start with http(s)://', endAfterStart: 'Must be after the start', fieldsFormat: 'Format: name=content' },
}

const saved = localStorage.getItem('livenotify.locale')

/** The app's i18n instance. */
export const i18n = createI18n({
  legacy: false,
  locale: saved === 'en' ? 'en' : 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
})

/** Switches the language and remembers it. */
export function setLocale(locale) {
  i18n.global.locale.value = locale
  localStorage.setItem('livenotify.locale', locale)
  document.documentElement.lang = locale
}
